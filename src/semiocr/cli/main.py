"""The ``semiocr`` command: sub-apps are registered here, each defined in its own module."""

from __future__ import annotations

import typer

from semiocr import __version__
from semiocr.cli.dataset import app as dataset_app
from semiocr.cli.demo import demo
from semiocr.cli.det import eval_det
from semiocr.cli.evaluate import eval_app
from semiocr.cli.ocr import predict_ocr
from semiocr.cli.predict import predict_app
from semiocr.cli.train import train_app

app = typer.Typer(name="semiocr", help="Self-hosted semi-supervised OCR pipeline.", no_args_is_help=True)
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


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
