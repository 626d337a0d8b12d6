"""``semiocr deploy create | list | stop``: OCR services for your weights (ONNX Runtime, one process each),
reachable with your personal access tokens of scope ``ocr`` (``semiocr tokens create``)."""

from __future__ import annotations

import typer

from semiocr.cli.options import WEIGHTS_HELP
from semiocr.cli.platform_common import as_local_user

deploy_app = typer.Typer(help="OCR services for your weights.", no_args_is_help=True)


@deploy_app.command("create")
def create(det: str = typer.Option("PP-OCRv4-mobile-det", "--det", help="detector " + WEIGHTS_HELP + " or .onnx"),
           rec: str = typer.Option(..., "--rec", help="recognizer " + WEIGHTS_HELP + " or .onnx"),
           name: str | None = typer.Option(None, "--name"),
           host: str = typer.Option("127.0.0.1", "--host", help="address to listen on"),
           port: int | None = typer.Option(None, "--port", help="default: a free port"),
           threads: int = typer.Option(1, "--threads", min=1, help="ONNX Runtime threads per model")) -> None:
    """Export the weights, start the service and print its URL once it answers."""
    from semiocr.platform import deployments as dp

    with as_local_user() as (_, user):
        user_name = user.name
    try:
        row = dp.create(user_name, det, rec, name=name, host=host, port=port, threads=threads)
    except (ValueError, LookupError, RuntimeError, OSError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"deployment {row.id} running at {dp.url_of(row)} (POST /v1/ocr, POST /ocr, GET /health, "
               f"GET /metrics); log {row.folder}/service.log")


@deploy_app.command("list")
def list_() -> None:
    """Your deployments."""
    from semiocr.platform import deployments as dp

    with as_local_user() as (s, user):
        for row in dp.list_deployments(s, user):
            typer.echo(f"{row.id}\t{row.state}\t{dp.url_of(row)}\t{row.det}\t{row.rec}"
                       + (f"\t{row.reason}" if row.reason else ""))


@deploy_app.command("stop")
def stop(deployment: int = typer.Argument(..., help="deployment id")) -> None:
    """Stop a deployment's service."""
    from semiocr.platform import deployments as dp

    with as_local_user() as (s, user):
        row = dp.stop(s, user, deployment)
        typer.echo(f"deployment {row.id} {row.state}")
