"""The ``semiocr`` command: sub-apps are registered here, each defined in its own module."""

from __future__ import annotations

import typer

from semiocr import __version__
from semiocr.cli.dataset import app as dataset_app
from semiocr.cli.demo import demo
from semiocr.cli.deploy import deploy_app
from semiocr.cli.det import eval_det
from semiocr.cli.evals import evals_app
from semiocr.cli.evaluate import eval_app
from semiocr.cli.export import export_app
from semiocr.cli.ocr import predict_ocr
from semiocr.cli.predict import predict_app
from semiocr.cli.runs import runs_app
from semiocr.cli.server import server, worker
from semiocr.cli.tokens import tokens_app, users_app
from semiocr.cli.train import train_app
from semiocr.cli.weights import weights_app
from semiocr.core.training.ddp import in_torchrun_world, run_and_exit
from semiocr.platform.marks import register_marks_resolver

app = typer.Typer(name="semiocr", help="Self-hosted semi-supervised OCR pipeline.", no_args_is_help=True)


@app.callback()
def _setup() -> None:
    """Every weights argument of every command also accepts the local user's marked nicknames."""
    register_marks_resolver()
app.add_typer(dataset_app, name="dataset")


@app.command()
def version() -> None:
    """Print the semiocr version."""
    typer.echo(__version__)


app.command("demo")(demo)
eval_app.command("det")(eval_det)
predict_app.command("ocr")(predict_ocr)
app.add_typer(train_app, name="train")
app.add_typer(eval_app, name="eval")
app.add_typer(predict_app, name="predict")
app.add_typer(runs_app, name="runs")
app.add_typer(weights_app, name="weights")
app.add_typer(evals_app, name="evals")
app.add_typer(export_app, name="export")
app.add_typer(tokens_app, name="tokens")
app.add_typer(users_app, name="users")
app.add_typer(deploy_app, name="deploy")
app.command("worker")(worker)
app.command("server")(server)


def main() -> None:
    """The console entry point (``semiocr`` and ``python -m semiocr.cli.main``). A rank of a torchrun world ends
    without interpreter finalisation, which can abort it after its work is done (see ``ddp.run_and_exit``)."""
    if in_torchrun_world():
        run_and_exit(app)
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
