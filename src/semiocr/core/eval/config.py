"""Config of the ``eval`` job (see ``semiocr.core.eval.job``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from semiocr.core.training.config import Strict


class EvalJobConfig(Strict):
    """An evaluation task: ``weights`` (any weights name) on ``data_dir``/``split``."""

    kind: Literal["eval"] = "eval"
    task: Literal["rec", "det"] = "rec"
    weights: str
    data_dir: str
    split: str | None = Field(None, description="label file in the dataset (default val.txt / det_val.txt)")
    rec: str | None = Field(None, description="det only: also read the lines with this recognizer (end-to-end)")
    output_dir: str = "output/eval"
    device: str = "auto"
    batch_size: int = Field(32, ge=1, le=512)
    rotate_180: bool = False
