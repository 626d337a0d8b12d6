"""``semiocr eval det`` (registered on the ``eval`` sub-app in main)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from semiocr.cli.console import ProgressBar
from semiocr.cli.options import WEIGHTS_HELP


def eval_det(
    weights: str = typer.Option(..., "--weights", "-w", help=WEIGHTS_HELP),
    data: Path = typer.Option(..., "--data", "-d", help="dataset directory"),
    split: str = typer.Option("det_val.txt", "--split", help="Label.txt-style file inside the dataset"),
    out: Path | None = typer.Option(None, "--out", help="write summary.json, per_image.jsonl, errors/*.jpg"),
    e2e_rec: str | None = typer.Option(None, "--rec", help="also read the lines with this recognizer (end-to-end)"),
    device: str = typer.Option("cpu", "--device"),
) -> None:
    """Precision / recall / Hmean (ICDAR 2015) of a detector; with ``--rec``, the share of lines read exactly."""
    from semiocr.core.data.detection import read_det_labels
    from semiocr.core.data.labels import DatasetError
    from semiocr.core.eval.det_report import evaluate_detection, evaluate_e2e
    from semiocr.core.inference.detector import TextDetector
    from semiocr.core.inference.pipeline import build_pipeline
    from semiocr.core.weights.checkpoint import CheckpointError

    try:
        samples = read_det_labels(data, split)
        if e2e_rec:
            rep = evaluate_e2e(build_pipeline(weights, e2e_rec, device=device), samples, out_dir=out,
                               progress=ProgressBar("eval ocr"))
        else:
            det = TextDetector.from_weights(weights, device=device)
            rep = evaluate_detection(lambda img: det(img).boxes, samples, out_dir=out, progress=ProgressBar("eval det"))
    except (DatasetError, CheckpointError, ValueError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None
    typer.echo(json.dumps(rep["summary"], indent=2))
