"""``semiocr train rec -c config.yaml -o key=value ...`` (other stages add commands to ``train_app``)."""

from __future__ import annotations

import signal
from pathlib import Path

import typer

train_app = typer.Typer(help="Train models.", no_args_is_help=True)


class _StopFlag:
    """SIGTERM/SIGINT → finish the current step, save ``latest``, exit cleanly (a second signal kills)."""

    def __init__(self) -> None:
        self.stop = False
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._handle)

    def _handle(self, signum, frame) -> None:  # noqa: ANN001 - signal handler signature
        if self.stop:
            raise KeyboardInterrupt
        self.stop = True

    def __call__(self) -> bool:
        return self.stop


@train_app.command("rec")
def train_rec(
    config: Path | None = typer.Option(None, "-c", "--config", help="YAML config (fields of TrainConfig)"),
    override: list[str] = typer.Option([], "-o", "--override", help="key=value, repeatable (PaddleX style)"),
    quiet: bool = typer.Option(False, "--quiet", help="no console progress (metrics.jsonl is still written)"),
) -> None:
    """Train a recognizer with supervision on the labelled lines of a dataset."""
    from semiocr.core.data.labels import DatasetError
    from semiocr.core.training.config import ConfigError, load_config
    from semiocr.core.training.supervised import train_supervised
    from semiocr.core.weights.checkpoint import CheckpointError
    from semiocr.runtime.charset import CharsetError

    try:
        cfg = load_config(config, override)
        result = train_supervised(cfg, should_stop=_StopFlag(), console=not quiet)
    except (ConfigError, DatasetError, CharsetError, CheckpointError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"{result.reason}: epoch {result.epoch}, step {result.step}, best acc {result.best} "
               f"(epoch {result.best_epoch}); run dir {result.run_dir}")
