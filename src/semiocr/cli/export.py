"""``semiocr export onnx WEIGHTS --out FILE`` and ``semiocr export package --det W --rec W --out pkg.zip``."""

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


@export_app.command("package")
def export_package_cmd(
    det: str = typer.Option(..., "--det", help="detector " + WEIGHTS_HELP),
    rec: str = typer.Option(..., "--rec", help="recognizer " + WEIGHTS_HELP),
    out: Path = typer.Option(..., "--out", "-o", help="the zip to write"),
    runtime: str = typer.Option("onnxruntime-cpu", "--runtime", help="onnxruntime-cpu or onnxruntime-gpu"),
    int8: bool = typer.Option(False, "--int8", help="dynamic int8 quantisation, kept only if accuracy holds "
                              "(recognizer: at most 1 point lost, else refused; detector: only if it reads the "
                              "self-test alike)"),
    val: Path | None = typer.Option(None, "--val", help="dataset whose val.txt measures the int8 accuracy "
                                    "(default: agreement with float32 on generated and self-test lines)"),
    threads: int | None = typer.Option(None, "--threads", min=1, help="ONNX Runtime threads of the package"),
    opset: int | None = typer.Option(None, "--opset", min=11, help="ONNX opset (default 17)"),
) -> None:
    """Build an offline OCR package: ONNX models, the torch-free runner, pinned requirements, a self-test and
    checksums (``python -m semiocr_runtime verify`` in the unzipped folder)."""
    from semiocr.core.data.labels import DatasetError
    from semiocr.core.export.onnx import DEFAULT_OPSET, ExportError, ExportMismatchError
    from semiocr.core.export.package import PackageError, build_package
    from semiocr.core.export.package_files import PackageFilesError
    from semiocr.core.weights.checkpoint import CheckpointError

    if val is not None and not int8:
        _fail("--val measures the int8 accuracy: use it with --int8", 2)
    try:
        report = build_package(det, rec, out, runtime=runtime, int8=int8, threads=threads, val=val,
                               opset=opset or DEFAULT_OPSET)
    except (ExportMismatchError, PackageError) as e:
        _fail(str(e), 1)
    except (ExportError, PackageFilesError, CheckpointError, DatasetError, FileNotFoundError, ValueError) as e:
        _fail(str(e), 2)
    typer.echo(report.text())
