"""``semiocr train rec | det | lmssl | job``: every kind of job through the one job contract
(``semiocr.core.job``): load the config (``-c`` YAML + ``-o key=value``), run it with the console as the event
sink and SIGTERM/Ctrl-C as the stop request. Exit codes: 0 succeeded, 2 bad input, 3 stopped (run the same
command again to resume)."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import typer

train_app = typer.Typer(help="Train models (every command runs one job; see semiocr.core.job).",
                        no_args_is_help=True)

CONFIG_OPT = typer.Option(None, "-c", "--config", help="YAML job config")
OVERRIDE_OPT = typer.Option([], "-o", "--override", help="key=value or section.key=value, repeatable (PaddleX style)")
QUIET_OPT = typer.Option(False, "--quiet", help="no console progress (the run's JSONL event log is still written)")


class StopFlag:
    """SIGTERM/SIGINT → the job stops at the next check (saving what resumes it); a second signal kills."""

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


def _allocator_tip(device: str) -> None:
    """Print the tcmalloc hint (``semiocr.core.allocator``) for a training job on ``device`` (its config value)."""
    from semiocr.core.allocator import allocator_hint
    from semiocr.core.inference.device import resolve_device

    if device.startswith("cuda"):  # the job itself reports a CUDA device that is missing
        return
    hint = allocator_hint(resolve_device(device).type)
    if hint is not None:
        typer.echo(hint, err=True)


def run_job_command(config: Path | None, overrides: list[str], quiet: bool, kind: str | None,
                    events: Path | None = None, **fixed: Any) -> None:
    """Load, run and report a job; the body of every ``semiocr train`` command. ``events``: also append every
    event to this JSONL file (what a managed run's worker reads)."""
    from pydantic import ValidationError

    from semiocr.cli.console import ConsoleSink
    from semiocr.core.data.labels import DatasetError
    from semiocr.core.events import JsonlSink, MultiSink
    from semiocr.core.job import load_job_config, run_job
    from semiocr.core.weights.checkpoint import CheckpointError
    from semiocr.runtime.charset import CharsetError

    try:
        cfg = load_job_config(config, overrides, kind=kind, **fixed)
        sink = MultiSink(None if quiet else ConsoleSink(), JsonlSink(events) if events is not None else None)
        if not quiet and cfg.kind != "eval":
            _allocator_tip(str(getattr(cfg, "device", "auto")))
        result = run_job(cfg, sink=sink, should_stop=StopFlag())
    except (ValidationError, ValueError, KeyError, FileNotFoundError, DatasetError, CharsetError,
            CheckpointError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None
    if result.status == "stopped":
        typer.echo(f"stopped: {result.message or f'epoch {result.epoch}, step {result.step}'}; outputs in "
                   f"{result.output_dir}; run the same command again to resume", err=True)
        raise typer.Exit(3)
    if result.summary is not None and (result.output_dir / "summary.md").is_file():
        typer.echo((result.output_dir / "summary.md").read_text(encoding="utf-8"))
    else:
        typer.echo(f"succeeded: epoch {result.epoch}, step {result.step}, best {result.metric} {result.best}")
    typer.echo(f"outputs in {result.output_dir}")


@train_app.command("rec")
def train_rec(config: Path | None = CONFIG_OPT, override: list[str] = OVERRIDE_OPT, quiet: bool = QUIET_OPT) -> None:
    """Train a recognizer with supervision on the labelled lines of a dataset (fields of RecTrainConfig)."""
    run_job_command(config, override, quiet, "rec")


@train_app.command("det")
def train_det(config: Path | None = CONFIG_OPT, override: list[str] = OVERRIDE_OPT, quiet: bool = QUIET_OPT) -> None:
    """Train (fine-tune) a DB text detector on PaddleOCR Label.txt pages; best = validation Hmean (fields of
    DetTrainConfig)."""
    run_job_command(config, override, quiet, "det")


@train_app.command("lmssl")
def train_lmssl(config: Path | None = CONFIG_OPT, override: list[str] = OVERRIDE_OPT, quiet: bool = QUIET_OPT,
                mode: str | None = typer.Option(None, "--mode", help="joint (large then small) | large | small "
                                                "(from given large weights: student.teacher_weights)")) -> None:
    """Train the large model semi-supervised and/or distil the small one (fields of LmsslConfig); an interrupted
    run resumes."""
    run_job_command(config, override, quiet, "lmssl", mode=mode)


@train_app.command("job")
def train_job(config: Path = typer.Option(..., "-c", "--config", help="YAML job config with its kind"),
              override: list[str] = OVERRIDE_OPT, quiet: bool = QUIET_OPT,
              events: Path | None = typer.Option(None, "--events", help="also append every event to this JSONL file")
              ) -> None:
    """Run a job config of any kind (``kind: rec | det | lmssl | eval``), e.g. the frozen config of a run."""
    run_job_command(config, override, quiet, None, events)
