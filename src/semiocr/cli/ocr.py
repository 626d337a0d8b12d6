"""``semiocr predict ocr IMAGE... --det W --rec W --out DIR``: full-page OCR, JSON and a picture per image."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from semiocr.cli.options import WEIGHTS_HELP


def predict_ocr(
    images: list[Path] = typer.Argument(..., help="page images (any size; gray/alpha PNG fine)"),
    det: str = typer.Option("PP-OCRv4-mobile-det", "--det", help="detector " + WEIGHTS_HELP),
    rec: str = typer.Option("PP-OCRv4-mobile-rec", "--rec", help="recognizer " + WEIGHTS_HELP),
    out: Path = typer.Option(Path("ocr_output"), "--out", help="writes <name>.json and <name>.jpg per image"),
    text_score: float = typer.Option(0.5, "--text-score", min=0, max=1, help="drop lines read below this score"),
    device: str = typer.Option("cpu", "--device"),
    rotate_180: bool = typer.Option(False, "--rotate-180", help="also read each line turned by 180° and keep "
                                                                "the more confident reading (upside-down text)"),
) -> None:
    """Detect, rectify and read every text line; prints one JSON line per image."""
    import cv2

    from semiocr.core.data.images import read_image
    from semiocr.core.data.labels import DatasetError
    from semiocr.core.inference.pipeline import build_pipeline
    from semiocr.core.weights.checkpoint import CheckpointError
    from semiocr.runtime.pipeline import draw_result

    try:
        pipeline = build_pipeline(det, rec, device=device, text_score=text_score, rotate_180=rotate_180)
    except (CheckpointError, DatasetError, ValueError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None
    out.mkdir(parents=True, exist_ok=True)
    failed = 0
    for path in images:
        try:
            img = read_image(path)
        except ValueError as e:
            typer.echo(f"error: {e}", err=True)
            failed += 1
            continue
        result = pipeline(img)
        doc = {"image": str(path), **result.to_dict()}
        (out / f"{path.stem}.json").write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
        cv2.imwrite(str(out / f"{path.stem}.jpg"), draw_result(img, result))
        typer.echo(json.dumps(doc, ensure_ascii=False))
    if failed:
        raise typer.Exit(1)
