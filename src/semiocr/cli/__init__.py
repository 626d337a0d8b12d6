"""Command-line interface (typer): each command calls core/platform in a few lines."""
