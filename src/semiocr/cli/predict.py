"""``semiocr predict rec --weights CKPT IMAGE...``: one line per image, ``path<TAB>text<TAB>confidence``."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from semiocr.cli.options import WEIGHTS_HELP

predict_app = typer.Typer(help="Run weights on images.", no_args_is_help=True)


@predict_app.command("rec")
def predict_rec(
    images: list[Path] = typer.Argument(..., help="text-line images"),
    weights: str = typer.Option(..., "--weights", "-w", help=WEIGHTS_HELP),
    device: str = typer.Option("auto", "--device"),
    as_json: bool = typer.Option(False, "--json", help="JSON lines with per-character scores"),
    rotate_180: bool = typer.Option(False, "--rotate-180", help="also read each line turned by 180° and keep "
                                                                "the more confident reading (upside-down text)"),
) -> None:
    """Recognise text-line images."""
    from semiocr.core.data.images import read_image
    from semiocr.core.data.labels import DatasetError
    from semiocr.core.inference.recognizer import Recognizer
    from semiocr.core.weights.checkpoint import CheckpointError

    try:
        rec = Recognizer.from_weights(weights, device=device, rotate_180=rotate_180)
        decoded = rec.predict([read_image(p) for p in images])
    except (DatasetError, CheckpointError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None
    for path, d in zip(images, decoded, strict=True):
        if as_json:
            typer.echo(json.dumps({"image": str(path), "text": d.text, "confidence": round(d.confidence, 4),
                                   "angle": d.angle, "char_scores": [round(s, 4) for s in d.char_scores]},
                                  ensure_ascii=False))
        else:
            typer.echo(f"{path}\t{d.text}\t{d.confidence:.4f}")
