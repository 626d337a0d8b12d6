"""Self-describing SSL checkpoints: weights plus architecture, charset and origin; loading checks the charset."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from semiocr.core.charset import Charset, CharsetError
from semiocr.core.models.registry import build_model


def weights_meta(arch: str, charset: Charset, kwargs: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """Metadata stored with every checkpoint the recipe writes."""
    return {"arch": arch, "model_kwargs": dict(kwargs), "charset": charset.to_dict(), **extra}


def read_checkpoint(path: Path) -> dict[str, Any]:
    """Load a checkpoint file as ``{"model": state_dict, ...meta}`` (a bare state dict is accepted)."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"{path}: weights file not found")
    ck = torch.load(path, map_location="cpu", weights_only=False)
    if isinstance(ck, dict) and "model" in ck and isinstance(ck["model"], dict):
        return ck
    if isinstance(ck, dict) and all(isinstance(v, torch.Tensor) for v in ck.values()):
        return {"model": ck}
    raise ValueError(f"{path}: not a semiocr checkpoint (expected a state dict or a dict with 'model')")


def checkpoint_charset(ck: dict[str, Any]) -> Charset | None:
    """The charset a checkpoint was trained with, if it records one."""
    d = ck.get("charset") or (ck.get("meta") or {}).get("charset")
    return Charset.from_dict(d) if d else None


def check_charset(path: Path, charset: Charset) -> dict[str, Any]:
    """Read ``path`` and require that it was trained with exactly ``charset`` (else ``CharsetError``)."""
    ck = read_checkpoint(path)
    theirs = checkpoint_charset(ck)
    if theirs is None:
        raise CharsetError(f"{path}: the weights do not record their charset; cannot check them against the dataset")
    if theirs.fingerprint != charset.fingerprint:
        raise CharsetError(f"{path}: the weights were trained with another charset ({theirs.num_classes} classes, "
                           f"fingerprint {theirs.fingerprint}) than the dataset's ({charset.num_classes} classes, "
                           f"fingerprint {charset.fingerprint})")
    return ck


def _rebuild_head(state: dict[str, torch.Tensor], model: nn.Module, old: Charset, new: Charset) -> list[str]:
    """Map classifier rows of characters present in both charsets; others keep the fresh initialisation."""
    fresh = model.state_dict()
    old_idx = {c: i for i, c in enumerate(old.classes)}
    rows = [(i, old_idx[c]) for i, c in enumerate(new.classes) if c in old_idx]
    for key in ("head.fc.weight", "head.fc.bias"):
        if key in state:
            t = fresh[key].clone()
            for i, j in rows:
                t[i] = state[key][j]
            state[key] = t
    return [c for c in new.classes[1:] if c not in old_idx]


def load_weights(model: nn.Module, path: Path, charset: Charset, rebuild_head: bool = False) -> str:
    """Load ``path`` into ``model``; a different charset is an error unless ``rebuild_head`` (start weights),
    in which case CTC-head rows of shared characters are copied. Returns a one-line note for the log."""
    ck = read_checkpoint(path)
    theirs = checkpoint_charset(ck)
    state = dict(ck["model"])
    note = f"loaded {path}"
    if theirs is not None and theirs.fingerprint != charset.fingerprint:
        if not rebuild_head:
            check_charset(path, charset)
        new_chars = _rebuild_head(state, model, theirs, charset)
        note += f" (CTC head rebuilt: {len(new_chars)} of {charset.num_classes - 1} characters are new)"
    model.load_state_dict(state)
    return note


def build_from_checkpoint(path: Path, charset: Charset) -> nn.Module:
    """Build the architecture recorded in ``path`` and load its weights (charset must match)."""
    ck = check_charset(path, charset)
    if "arch" not in ck:
        raise ValueError(f"{path}: the weights do not record their architecture")
    model = build_model(ck["arch"], num_classes=charset.num_classes, **ck.get("model_kwargs", {}))
    model.load_state_dict(ck["model"])
    return model
