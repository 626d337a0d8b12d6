"""``semiocr eval rec --weights CKPT --data DATASET [--split val.txt] [--out DIR]``."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from semiocr.cli.options import WEIGHTS_HELP

eval_app = typer.Typer(help="Evaluate weights on a labelled split.", no_args_is_help=True)


@eval_app.command("rec")
def eval_rec(
    weights: str = typer.Option(..., "--weights", "-w", help=WEIGHTS_HELP),
    data: Path = typer.Option(..., "--data", "-d", help="dataset directory"),
    split: str = typer.Option("val.txt", "--split", help="labelled file inside the dataset"),
    out: Path | None = typer.Option(None, "--out", help="write predictions.csv, worst_errors.png, metrics.json"),
    device: str = typer.Option("auto", "--device"),
    batch_size: int = typer.Option(32, "--batch-size", min=1),
    rotate_180: bool = typer.Option(False, "--rotate-180", help="also read each line turned by 180° and keep "
                                                                "the more confident reading (upside-down text)"),
) -> None:
    """Exact / caseless / space-free accuracy, 1 − NED and CER of a recognizer on a labelled split."""
    from semiocr.core.data.labels import DatasetError, read_labelled
    from semiocr.core.eval.recognition import evaluate_samples
    from semiocr.core.inference.recognizer import Recognizer
    from semiocr.core.weights.checkpoint import CheckpointError

    try:
        rec = Recognizer.from_weights(weights, device=device, batch_size=batch_size, rotate_180=rotate_180)
        samples = read_labelled(data, split)
        metrics, _ = evaluate_samples(rec, samples, out_dir=out)
    except (DatasetError, CheckpointError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None
    typer.echo(json.dumps(metrics, indent=2))
