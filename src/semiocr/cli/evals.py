"""``semiocr evals create | list | show``: evaluation tasks (``eval`` runs) of any weights on a stored dataset
folder or any folder in the same format; kept with their settings, metrics, predictions and log."""

from __future__ import annotations

from pathlib import Path

import typer

from semiocr.cli.options import WEIGHTS_HELP
from semiocr.cli.platform_common import as_local_user, echo_json

evals_app = typer.Typer(help="Evaluation tasks.", no_args_is_help=True)


@evals_app.command("create")
def create(weights: str = typer.Option(..., "--weights", "-w", help=WEIGHTS_HELP),
           data: str = typer.Option(..., "--data", "-d", help="stored dataset NAME[:vN] or a dataset folder"),
           split: str | None = typer.Option(None, "--split", help="label file (default val.txt / det_val.txt)"),
           task: str = typer.Option("rec", "--task", help="rec | det"),
           rec: str | None = typer.Option(None, "--rec", help="det: also read the lines (end-to-end)"),
           rotate_180: bool = typer.Option(False, "--rotate-180"),
           wait: bool = typer.Option(False, "--wait", help="return when it ends; exit 0 only if it succeeded"),
           ) -> None:
    """Queue an evaluation task; prints its run id."""
    from semiocr.cli.runs import _wait
    from semiocr.platform.datasets import DatasetStore, DatasetStoreError
    from semiocr.platform.runs import create_run

    folder = Path(data)
    if not folder.is_dir():
        try:
            folder = Path(DatasetStore().get(data).path)
        except DatasetStoreError as e:
            typer.echo(f"error: {data}: neither a folder nor a stored dataset ({e})", err=True)
            raise typer.Exit(2) from None
    config = {"kind": "eval", "task": task, "weights": weights, "data_dir": str(folder.resolve()), "split": split,
              "rec": rec, "rotate_180": rotate_180}
    with as_local_user() as (s, user):
        run = create_run(s, user, config, name=f"eval {weights} on {data}")
        run_id = run.id
    typer.echo(run_id)
    if wait:
        raise typer.Exit(_wait(run_id))


@evals_app.command("list")
def list_(as_json: bool = typer.Option(False, "--json")) -> None:
    """Your evaluation tasks."""
    from semiocr.platform.runs import describe, list_runs

    with as_local_user() as (s, user):
        rows = [describe(r) for r in list_runs(s, user) if r.kind == "eval"]
    if as_json:
        echo_json(rows)
        return
    for r in rows:
        metrics = (r["result"] or {}).get("metrics") or {}
        shown = ", ".join(f"{k}={metrics[k]:.4g}" for k in ("acc", "norm_edit", "cer", "hmean") if k in metrics)
        typer.echo(f"{r['id']}\t{r['state']}\t{r['config']['weights']}\t{r['config']['data_dir']}\t{shown}")


@evals_app.command("show")
def show(run_id: int = typer.Argument(..., help="evaluation task id")) -> None:
    """Settings, metrics, where the per-sample results and the log are."""
    from semiocr.platform.runs import describe, get_run

    with as_local_user() as (s, user):
        doc = describe(get_run(s, user, run_id))
    out = Path(doc["output_dir"])
    doc["files"] = sorted(str(p) for p in out.glob("*")) if out.is_dir() else []
    echo_json(doc)
