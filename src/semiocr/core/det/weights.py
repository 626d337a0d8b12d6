"""Loading detector weights by name or path: imported presets, trained checkpoints, marked weights."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import nn

from semiocr.core.models.pretrained import PRESETS
from semiocr.core.models.registry import build_model

#: what every detector checkpoint records about its input: the imported PP-OCRv4 detector's metadata
#: (normalisation, side limit; RapidOCR 1.4.4 values), defined once in ``semiocr.core.models.pretrained``
DEFAULT_DET_META: dict[str, Any] = {k: v for k, v in PRESETS["PP-OCRv4-mobile-det"].meta.items()
                                    if k in ("input", "normalize", "limit_side_len", "limit_type", "output")}


def _is_preset(spec: str) -> bool:
    from semiocr.core.models.pretrained import list_pretrained

    return spec in list_pretrained()


def load_weights_into(model: nn.Module, spec: str) -> str:
    """Load preset ``spec`` (e.g. ``"PP-OCRv4-mobile-det"``) or checkpoint ``spec`` into ``model`` (weights only;
    the DB threshold branch, absent from inference weights, keeps its init). Returns a message for the log."""
    model_w, meta = load_detector(spec)
    missing, unexpected = model.load_state_dict(model_w.state_dict(), strict=False)
    missing = [k for k in missing if not k.startswith("head.thresh.")]
    if missing or unexpected:
        raise ValueError(f"detector weights {spec!r} do not fit {type(model).__name__}: missing {missing[:5]}, "
                         f"unexpected {unexpected[:5]}")
    return f"detector weights loaded from {spec} ({meta.get('arch')})"


def load_detector(spec: str | Path, device: str = "cpu") -> tuple[nn.Module, dict[str, Any]]:
    """A detector (eval mode) and its metadata from a preset name or a checkpoint file / run directory
    (``best.pt`` preferred in a run directory)."""
    spec_s = str(spec)
    if _is_preset(spec_s):
        from semiocr.core.models.pretrained import load_pretrained

        model, _, meta = load_pretrained(spec_s)
        return model.to(device).eval(), {**DEFAULT_DET_META, **meta}
    from semiocr.core.training.checkpoint import load_checkpoint

    path = Path(spec_s)
    best = path / "checkpoints" / "best.pt"
    ckpt = load_checkpoint(best if best.is_file() else path)
    meta = ckpt["meta"]
    if meta.get("task") != "detection":
        raise ValueError(f"{meta.get('path')}: not a detector checkpoint (task {meta.get('task')!r})")
    kwargs = dict((meta.get("config") or {}).get("model_kwargs") or {})
    model = build_model(meta["arch"], **kwargs)
    missing, unexpected = model.load_state_dict(ckpt["model"], strict=False)
    if unexpected or [k for k in missing if not k.startswith("head.thresh.")]:
        raise ValueError(f"{meta.get('path')}: weights do not fit {meta['arch']} (missing {missing[:5]}, "
                         f"unexpected {unexpected[:5]})")
    return model.to(device).eval(), {**DEFAULT_DET_META, **meta}
