"""``semiocr runs submit | list | show | logs | stop | cancel | resume``: managed runs (thin client of
``semiocr.platform.runs``; a ``semiocr worker`` or ``semiocr server`` executes them)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from semiocr.cli.platform_common import as_local_user, echo_json

runs_app = typer.Typer(help="Managed runs: submit, follow, stop, cancel, resume.", no_args_is_help=True)
RUN_ARG = typer.Argument(..., help="run id")


@runs_app.command("submit")
def submit(config: Path = typer.Option(..., "-c", "--config", help="YAML job config (kind: rec | det | lmssl | eval)"),
           override: list[str] = typer.Option([], "-o", "--override", help="key=value, repeatable"),
           kind: str | None = typer.Option(None, "--kind", help="the job kind when the file does not name it"),
           name: str | None = typer.Option(None, "--name", help="a name for the run"),
           gpus: int = typer.Option(0, "--gpus", min=0, help="GPUs the run needs (> 1: torchrun inside the job)"),
           executor: str = typer.Option("local", "--executor", help="local | ray"),
           draft: bool = typer.Option(False, "--draft", help="keep it as a draft instead of queueing it"),
           wait: bool = typer.Option(False, "--wait", help="return when the run ends; exit 0 only if it succeeded"),
           ) -> None:
    """Queue a run of a job config; prints the run id."""
    from semiocr.core.config import load_config
    from semiocr.platform.runs import create_run

    with as_local_user() as (s, user):
        raw = load_config(dict, config, override, kind=kind)
        run = create_run(s, user, raw, name=name or config.stem, gpus=gpus, executor=executor, submit=not draft)
        run_id = run.id
    typer.echo(run_id)
    if wait:
        raise typer.Exit(_wait(run_id))


def _wait(run_id: int) -> int:
    from semiocr.platform import states as st
    from semiocr.platform.db import session
    from semiocr.platform.tables import Run

    started, hinted = time.monotonic(), False
    while True:
        with session() as s:
            run = s.get(Run, run_id)
            state, reason = run.state, run.exit_reason
        if state in (*st.FINISHED, st.DRAFT):
            typer.echo(f"run {run_id} {state}" + (f": {reason}" if reason else ""), err=True)
            return 0 if state == st.SUCCEEDED else 1
        if state == st.QUEUED and not hinted and time.monotonic() - started > 15:
            typer.echo(f"run {run_id} is still queued: is a worker running? (`semiocr worker` or `semiocr server`)",
                       err=True)
            hinted = True
        time.sleep(1.0)


@runs_app.command("list")
def list_(state: str | None = typer.Option(None, "--state", help="only runs in this state"),
          as_json: bool = typer.Option(False, "--json")) -> None:
    """Your runs, oldest first."""
    from semiocr.platform.runs import describe, list_runs

    with as_local_user() as (s, user):
        rows = [describe(r) for r in list_runs(s, user, state)]
    if as_json:
        echo_json(rows)
        return
    table = Table()
    for col in ("id", "name", "kind", "state", "attempt", "gpus", "created", "result"):
        table.add_column(col)
    for r in rows:
        metrics = (r["result"] or {}).get("metrics") or {}
        shown = ", ".join(f"{k}={v:.4g}" for k, v in list(metrics.items())[:3] if isinstance(v, int | float))
        table.add_row(str(r["id"]), r["name"], r["kind"], r["state"], str(r["attempt"]), str(r["gpus"]),
                      (r["created_at"] or "")[:19], shown or (r["exit_reason"] or "")[:60])
    Console(highlight=False).print(table)


@runs_app.command("show")
def show(run_id: int = RUN_ARG, as_json: bool = typer.Option(False, "--json")) -> None:
    """One run: state, timestamps, result, checkpoints, config."""
    from semiocr.platform.runs import checkpoints, describe, get_run

    with as_local_user() as (s, user):
        doc = describe(get_run(s, user, run_id))
        doc["checkpoints"] = [{"id": c.id, "type": c.type, "stage": c.stage, "epoch": c.epoch, "step": c.step,
                               "path": c.path, "metrics": c.metrics} for c in checkpoints(s, user, run_id)]
    if as_json:
        echo_json(doc)
        return
    for key in ("id", "name", "kind", "mode", "state", "attempt", "gpus", "executor", "output_dir", "log",
                "created_at", "started_at", "finished_at", "exit_reason", "result"):
        typer.echo(f"{key:>12}: {doc[key]}")
    for c in doc["checkpoints"]:
        typer.echo(f"  checkpoint #{c['id']} {c['type']:<8} {c['stage'] or '':<14} epoch {c['epoch']} step "
                   f"{c['step']} {c['metrics']}")


@runs_app.command("logs")
def logs(run_id: int = RUN_ARG, follow: bool = typer.Option(False, "--follow", "-f", help="wait for more until "
                                                                                                "the run ends"),
         attempt: int | None = typer.Option(None, "--attempt", help="an earlier attempt's log")) -> None:
    """The console log of a run's attempt."""
    from semiocr.platform import states as st
    from semiocr.platform.db import session
    from semiocr.platform.runs import get_run, log_path
    from semiocr.platform.tables import Run

    with as_local_user() as (s, user):
        run = get_run(s, user, run_id)
        path = log_path(run, attempt)
    offset = 0
    while True:
        if path.is_file():
            with path.open("rb") as f:
                f.seek(offset)
                chunk = f.read()
            offset += len(chunk)
            sys.stdout.write(chunk.decode("utf-8", errors="replace"))
            sys.stdout.flush()
        if not follow:
            return
        with session() as s:
            state = s.get(Run, run_id).state
        if state in (*st.FINISHED, st.DRAFT) and (not path.is_file() or path.stat().st_size == offset):
            return
        time.sleep(0.5)


def _action(name: str, run_id: int) -> None:
    from semiocr.platform import runs as rs

    with as_local_user() as (s, user):
        run = getattr(rs, name)(s, user, run_id)
        state = run.state
    typer.echo(f"run {run_id}: {state}" + (" (stop requested)" if name == "request_stop" else ""))


@runs_app.command("stop")
def stop(run_id: int = RUN_ARG) -> None:
    """Stop a running run; it saves a checkpoint first (``resume`` continues from it)."""
    _action("request_stop", run_id)


@runs_app.command("cancel")
def cancel(run_id: int = RUN_ARG) -> None:
    """Take a queued run off the queue (back to draft)."""
    _action("cancel", run_id)


@runs_app.command("resume")
def resume(run_id: int = RUN_ARG) -> None:
    """Queue a stopped or failed run again: a new attempt from its last checkpoint."""
    _action("resume", run_id)


@runs_app.command("queue")
def queue(run_id: int = RUN_ARG) -> None:
    """Queue a draft run."""
    _action("submit", run_id)
