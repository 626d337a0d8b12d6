"""``semiocr export onnx WEIGHTS --out FILE``: checked, self-describing ONNX files."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from semiocr.cli.options import WEIGHTS_HELP

export_app = typer.Typer(help="Export weights: checked ONNX files and offline OCR packages.", no_args_is_help=True)


def _fail(message: str, code: int) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@export_app.command("onnx")
def export_onnx_cmd(
    weights: str = typer.Argument(..., help="recognizer or detector " + WEIGHTS_HELP),
    out: Path = typer.Option(..., "--out", "-o", help="the ONNX file to write"),
    kind: str | None = typer.Option(None, "--kind", help="rec or det (default: from the weights' metadata)"),
    opset: int | None = typer.Option(None, "--opset", min=11, help="ONNX opset (default 17)"),
    check_images: Path | None = typer.Option(None, "--check-images", help="also check the export on the images "
                                             "of this folder (line crops for rec, pages for det)"),
    threads: int | None = typer.Option(None, "--threads", min=1, help="ONNX Runtime threads for the check"),
    as_json: bool = typer.Option(False, "--json", help="print the report as JSON"),
) -> None:
    """Export weights to ONNX with their self-description; refused (exit 1, no file) when ONNX Runtime and
    PyTorch disagree beyond the tolerance."""
    from semiocr.core.data.labels import DatasetError
    from semiocr.core.export.onnx import DEFAULT_OPSET, ExportError, ExportMismatchError, export_onnx
    from semiocr.core.weights.checkpoint import CheckpointError

    try:
        report = export_onnx(weights, out, kind=kind, opset=opset or DEFAULT_OPSET, check_images=check_images,
                             threads=threads)
    except ExportMismatchError as e:
        _fail(str(e), 1)
    except (ExportError, CheckpointError, DatasetError, FileNotFoundError, ValueError) as e:
        _fail(str(e), 2)
    typer.echo(json.dumps(report.to_dict(), ensure_ascii=False) if as_json else report.text())
