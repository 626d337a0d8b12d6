"""The HTTP API (FastAPI): the management API under ``/v1`` (runs, checkpoints, marks, evaluation tasks, tokens)
over the same platform services as the CLI."""
