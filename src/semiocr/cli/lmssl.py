"""``semiocr train lmssl -c config.yaml --mode joint|large|small -o key.sub=value``: the semi-supervised
large → small recipe. Registered under the ``train`` group by ``register(train_app)``."""

from __future__ import annotations

from pathlib import Path

import typer


def lmssl(
    config: Path | None = typer.Option(None, "-c", "--config", help="Run config YAML (fields of LmsslConfig)."),
    mode: str | None = typer.Option(None, "--mode", help="joint (large then small) | large | small (from marked "
                                                         "large weights: student.teacher_weights)."),
    override: list[str] = typer.Option([], "-o", "--override", help="key.sub=value, repeatable (PaddleX style)."),
    quiet: bool = typer.Option(False, "--quiet", help="Do not echo events to the console (events.jsonl is kept)."),
) -> None:
    """Train the large model semi-supervised and/or distil the small one; an interrupted run resumes."""
    from pydantic import ValidationError

    from semiocr.cli.train import _StopFlag
    from semiocr.core.data.labels import DatasetError
    from semiocr.core.ssl.config import load_config
    from semiocr.core.ssl.recipe import run_lmssl
    from semiocr.core.ssl.stage import StageStopped
    from semiocr.core.ssl.summary import summary_markdown
    from semiocr.core.weights.checkpoint import CheckpointError
    from semiocr.runtime.charset import CharsetError

    try:
        cfg = load_config(config, override, mode=mode)
        summary = run_lmssl(cfg, should_stop=_StopFlag(), echo=not quiet)
    except (ValidationError, ValueError, KeyError, FileNotFoundError, DatasetError, CharsetError,
            CheckpointError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None
    except StageStopped as e:
        typer.echo(f"stopped: {e}; run the same command again to resume", err=True)
        raise typer.Exit(3) from None
    typer.echo(summary_markdown(summary, cfg.mode))
    typer.echo(f"outputs in {cfg.output_dir}")


def register(train_app: typer.Typer) -> None:
    """Add ``lmssl`` to the ``train`` command group."""
    train_app.command("lmssl")(lmssl)
