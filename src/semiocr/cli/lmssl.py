"""``semiocr train lmssl``: the semi-supervised large → small recipe (modes joint | large | small).

Register under the ``train`` group with ``register(train_app)``; ``python -m semiocr.cli.lmssl`` also works.
"""

from __future__ import annotations

from pathlib import Path

import typer

from semiocr.core.ssl.config import load_config


def lmssl(
    config: Path = typer.Option(None, "-c", "--config", help="Run config YAML (LmsslConfig)."),
    mode: str = typer.Option(None, "--mode", help="joint (large then small) | large | small (from marked weights)."),
    override: list[str] = typer.Option([], "-o", "--override", help="key.sub=value, repeatable."),
    quiet: bool = typer.Option(False, "--quiet", help="Do not echo events to the console."),
) -> None:
    """Train the large model semi-supervised and/or distil the small one; resumes an interrupted run."""
    from semiocr.core.ssl.recipe import run_lmssl
    from semiocr.core.ssl.summary import summary_markdown

    cfg = load_config(config, override, mode=mode)
    summary = run_lmssl(cfg, echo=not quiet)
    typer.echo(summary_markdown(summary, cfg.mode))
    typer.echo(f"outputs in {cfg.output_dir}")


def register(train_app: typer.Typer) -> None:
    """Add ``lmssl`` to the ``train`` command group."""
    train_app.command("lmssl")(lmssl)


app = typer.Typer(help="LMSSL training.", no_args_is_help=True)
register(app)

if __name__ == "__main__":  # pragma: no cover
    app()
