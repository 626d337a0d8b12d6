"""Weights the recipe reads: start weights (checkpoints or pretrained presets), teachers, charset checks."""

from __future__ import annotations

from pathlib import Path

from torch import nn

from semiocr.core.charset import Charset
from semiocr.core.models.registry import build_model
from semiocr.core.training.checkpoint import CheckpointError, checkpoint_charset, load_checkpoint, load_pretrained


def check_charset(path: Path, charset: Charset) -> dict:
    """Load checkpoint ``path`` and require that it was trained with exactly ``charset``."""
    ck = load_checkpoint(path)
    theirs = checkpoint_charset(ck)
    if theirs.fingerprint != charset.fingerprint:
        raise CheckpointError(f"{path}: the weights were trained with another charset ({theirs.num_classes} classes, "
                              f"fingerprint {theirs.fingerprint}) than the dataset's ({charset.num_classes} classes, "
                              f"fingerprint {charset.fingerprint})")
    return ck


def build_from_checkpoint(path: Path, charset: Charset) -> nn.Module:
    """Build the architecture recorded in checkpoint ``path`` and load its inference weights (charset must match)."""
    ck = check_charset(path, charset)
    meta = ck["meta"]
    kwargs = dict((meta.get("config") or {}).get("model_kwargs") or {})
    model = build_model(meta["arch"], num_classes=charset.num_classes, **kwargs)
    model.load_state_dict(ck["model"])
    return model


def is_preset(name: str | Path) -> bool:
    """Whether ``name`` names a pretrained preset (e.g. ``PP-OCRv4-mobile-rec``) rather than a file."""
    from semiocr.core.models.pretrained import list_pretrained

    return str(name) in list_pretrained() and not Path(name).is_file()


def load_start_weights(model: nn.Module, path: Path, charset: Charset) -> str:
    """Load start weights (checkpoint file, run dir or preset name) into ``model``; a different dict rebuilds
    the CTC head, copying the rows of shared characters."""
    _, msg = load_pretrained(model, path, charset)
    return msg
