"""Detection preprocessing: resize so both sides are multiples of 32 (side-length limit), normalise, NCHW.

The normalisation and limits come from the model's metadata (``meta["normalize"]``, ``meta["limit_side_len"]``,
``meta["limit_type"]``), never hard-coded twice. ``limit_type="min"`` scales the short side up to at least
``limit_side_len``; ``"max"`` scales the long side down to at most ``limit_side_len`` (PaddleOCR semantics).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from semiocr.core.preprocess import ensure_bgr_uint8


@dataclass(frozen=True)
class DetInput:
    """A preprocessed page: the network input and the factors mapping its pixels back to the original image."""

    tensor: np.ndarray  # [1, 3, H, W] float32
    src_shape: tuple[int, int]  # (h, w) of the original image
    ratio_h: float  # resized_h / src_h
    ratio_w: float  # resized_w / src_w


def det_resize_shape(h: int, w: int, limit_side_len: int = 736, limit_type: str = "min") -> tuple[int, int]:
    """Target ``(h, w)`` for an ``h x w`` image: scaled by the side limit, rounded to multiples of 32 (>= 32)."""
    if limit_type == "max":
        ratio = limit_side_len / max(h, w) if max(h, w) > limit_side_len else 1.0
    elif limit_type == "min":
        ratio = limit_side_len / min(h, w) if min(h, w) < limit_side_len else 1.0
    else:
        raise ValueError(f"limit_type must be 'min' or 'max', got {limit_type!r}")
    new_h = max(32, int(round(int(h * ratio) / 32) * 32))
    new_w = max(32, int(round(int(w * ratio) / 32) * 32))
    return new_h, new_w


def normalize_image(img: np.ndarray, normalize: dict) -> np.ndarray:
    """``(img * scale - mean) / std`` per channel (channel order as given: BGR), HWC float32 → CHW."""
    scale = float(normalize.get("scale", 1 / 255))
    mean = np.asarray(normalize["mean"], dtype=np.float32)
    std = np.asarray(normalize["std"], dtype=np.float32)
    out = (img.astype(np.float32) * scale - mean) / std
    return out.transpose(2, 0, 1).astype(np.float32)


def preprocess_det(img: np.ndarray, meta: dict) -> DetInput:
    """One image (any of ``ensure_bgr_uint8``'s inputs) → ``DetInput`` using the detector's metadata."""
    img = ensure_bgr_uint8(img)
    h, w = img.shape[:2]
    new_h, new_w = det_resize_shape(h, w, int(meta.get("limit_side_len", 736)), str(meta.get("limit_type", "min")))
    resized = cv2.resize(img, (new_w, new_h))
    tensor = normalize_image(resized, meta["normalize"])[None]
    return DetInput(tensor=tensor, src_shape=(h, w), ratio_h=new_h / h, ratio_w=new_w / w)
