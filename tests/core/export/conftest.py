"""Tiny weights to export (random init, registered architectures): a recognizer and a detector checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from semiocr.core.models.registry import build_model
from semiocr.core.weights.checkpoint import CheckpointMeta, det_input_spec, rec_input_spec, save_checkpoint
from semiocr.runtime.charset import Charset

CHARS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-"


@pytest.fixture(scope="session")
def tiny_charset() -> Charset:
    return Charset(tuple(CHARS), use_space=True)


@pytest.fixture(scope="session")
def tiny_rec(tmp_path_factory: pytest.TempPathFactory, tiny_charset: Charset) -> Path:
    """A ``rec-tiny`` checkpoint (conv + one transformer layer) with a dataset hash and a parent."""
    torch.manual_seed(0)
    model = build_model("rec-tiny", num_classes=tiny_charset.num_classes).eval()
    meta = CheckpointMeta(arch="rec-tiny", task="supervised", charset=tiny_charset.to_dict(), input=rec_input_spec(),
                          dataset_hash="d" * 16, parent="runs/warmup/checkpoints/best.pt", metrics={"acc": 0.5})
    return save_checkpoint(tmp_path_factory.mktemp("tiny_rec") / "rec.pt", meta, model.state_dict())


@pytest.fixture(scope="session")
def tiny_det(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ``PP-OCRv4-mobile-det-tiny`` checkpoint (the real detector's code at toy width)."""
    torch.manual_seed(0)
    model = build_model("PP-OCRv4-mobile-det-tiny").eval()
    meta = CheckpointMeta(arch="PP-OCRv4-mobile-det-tiny", task="detection", input=det_input_spec(640, "max"))
    state = {k: v for k, v in model.state_dict().items() if not k.startswith("head.thresh.")}
    return save_checkpoint(tmp_path_factory.mktemp("tiny_det") / "det.pt", meta, state)
