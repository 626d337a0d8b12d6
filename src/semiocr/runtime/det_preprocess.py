"""The one detection preprocessing, shared by the pipeline, evaluation and the service.

Two steps, with the semantics of RapidOCR 1.4.4 so that boxes match it:

1. :func:`prepare_page` bounds the page: longest side at most ``max_side_len`` (2000), shortest side at least
   ``min_side_len`` (30), both rounded to a multiple of 32; a very flat or very short page is letterboxed
   (black bands above and below) so the detector sees text at a usable scale. The returned
   :class:`PageTransform` maps boxes back to the original image.
2. :func:`det_resize` scales the page for the network: with ``limit_type="min"`` the shortest side becomes at
   least ``limit_side_len`` (736); with ``"max"`` the longest side at most ``limit_side_len``; then both sides
   are rounded to a multiple of 32. :func:`normalize` applies mean/std (from the model's metadata).

Size limits (documented for users): a page whose longest side exceeds ``max_side_len`` (2000) is downscaled to
it before detection; a sliver is upscaled towards ``min_side_len`` only while its long side stays within
``MAX_PAGE_FACTOR × max_side_len``; the network input never exceeds ``MAX_NET_PIXELS`` (3000² pixels). So any
image, from 1×1 to tens of thousands of pixels a side, costs at most one bounded forward pass.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import cv2
import numpy as np

from semiocr.runtime.images import ensure_bgr_uint8

DET_MEAN: tuple[float, float, float] = (0.5, 0.5, 0.5)
DET_STD: tuple[float, float, float] = (0.5, 0.5, 0.5)
#: hard cap on network-input pixels (a 1×2000 sliver letterboxed then scaled by ``limit_type=min``)
MAX_NET_PIXELS = 3000 * 3000
#: a sliver (e.g. 3×3000) is upscaled to the minimum side only while its long side stays under 2 × max_side_len
MAX_PAGE_FACTOR = 2


@dataclass(frozen=True)
class DetPreprocessConfig:
    """Detection resize/normalisation settings (RapidOCR 1.4.4 defaults)."""

    limit_side_len: int = 736
    limit_type: str = "min"
    max_side_len: int = 2000
    min_side_len: int = 30
    min_height: int = 30
    width_height_ratio: float = 8.0
    mean: tuple[float, float, float] = DET_MEAN
    std: tuple[float, float, float] = DET_STD

    def __post_init__(self) -> None:
        if self.limit_type not in ("min", "max"):
            raise ValueError(f"limit_type must be 'min' or 'max', got {self.limit_type!r}")


@dataclass(frozen=True)
class PageTransform:
    """How :func:`prepare_page` changed the page: ``orig = (page - pad) * ratio``."""

    ratio_h: float
    ratio_w: float
    pad_top: int
    orig_h: int
    orig_w: int

    def to_original(self, boxes: np.ndarray) -> np.ndarray:
        """Map ``[K, P, 2]`` page coordinates back to the original image, clipped to its size."""
        out = np.asarray(boxes, dtype=np.float32).copy()
        if out.size == 0:
            return out.reshape(0, 4, 2)
        out[..., 1] -= self.pad_top
        out[..., 0] *= self.ratio_w
        out[..., 1] *= self.ratio_h
        out = np.maximum(out, 0)
        out[..., 0] = np.minimum(out[..., 0], self.orig_w)
        out[..., 1] = np.minimum(out[..., 1], self.orig_h)
        return out


def _round32(v: float) -> int:
    return max(32, int(round(v / 32) * 32))


def _resize_bounded(img: np.ndarray, ratio: float) -> np.ndarray:
    """Scale by ``ratio`` then round both sides to a multiple of 32 (at least 32)."""
    h, w = img.shape[:2]
    new_h, new_w = _round32(int(h * ratio)), _round32(int(w * ratio))
    return img if (new_h, new_w) == (h, w) else cv2.resize(img, (new_w, new_h))


def prepare_page(img: np.ndarray, cfg: DetPreprocessConfig = DetPreprocessConfig()) -> tuple[np.ndarray, PageTransform]:
    """Any image (gray, BGRA, 16-bit, 1×1, huge) → bounded BGR uint8 page and the transform back."""
    img = ensure_bgr_uint8(np.asarray(img))
    orig_h, orig_w = img.shape[:2]
    if orig_h == 0 or orig_w == 0:
        raise ValueError(f"empty image of shape {img.shape}")
    if max(orig_h, orig_w) > cfg.max_side_len:
        img = _resize_bounded(img, cfg.max_side_len / max(orig_h, orig_w))
    if min(img.shape[:2]) < cfg.min_side_len:  # slivers: never grow the long side past MAX_PAGE_FACTOR × limit
        h, w = img.shape[:2]
        img = _resize_bounded(img, min(cfg.min_side_len / min(h, w), MAX_PAGE_FACTOR * cfg.max_side_len / max(h, w)))
    h, w = img.shape[:2]
    pad = 0
    if h <= cfg.min_height or (cfg.width_height_ratio > 0 and w / h > cfg.width_height_ratio):
        new_h = max(int(w / cfg.width_height_ratio), cfg.min_height) * 2
        pad = int(abs(new_h - h) / 2)
        img = cv2.copyMakeBorder(img, pad, pad, 0, 0, cv2.BORDER_CONSTANT, value=(0, 0, 0))
    ratio_h, ratio_w = orig_h / (img.shape[0] - 2 * pad), orig_w / img.shape[1]
    return img, PageTransform(ratio_h, ratio_w, pad, orig_h, orig_w)


def det_resize(img: np.ndarray, limit_side_len: int = 736, limit_type: str = "min") -> np.ndarray:
    """Resize for the network (sides multiples of 32, see module doc); never returns an empty image."""
    h, w = img.shape[:2]
    if limit_type == "max":
        ratio = limit_side_len / max(h, w) if max(h, w) > limit_side_len else 1.0
    else:
        ratio = limit_side_len / min(h, w) if min(h, w) < limit_side_len else 1.0
    if h * w * ratio * ratio > MAX_NET_PIXELS:
        ratio = (MAX_NET_PIXELS / (h * w)) ** 0.5
    new_h, new_w = _round32(int(h * ratio)), _round32(int(w * ratio))
    return cv2.resize(img, (new_w, new_h))


def normalize(img: np.ndarray, mean: Sequence[float] = DET_MEAN, std: Sequence[float] = DET_STD) -> np.ndarray:
    """BGR uint8 ``[H, W, 3]`` → float32 ``[3, H, W]`` with ``(img/255 - mean)/std``."""
    x = (img.astype(np.float32) / 255.0 - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return x.transpose(2, 0, 1).astype(np.float32)


def preprocess_det(page: np.ndarray, cfg: DetPreprocessConfig = DetPreprocessConfig()) -> np.ndarray:
    """A prepared page → network input ``[1, 3, H, W]`` float32."""
    resized = det_resize(page, cfg.limit_side_len, cfg.limit_type)
    return normalize(resized, cfg.mean, cfg.std)[None]


def config_from_input_spec(spec: Mapping | None, pre: DetPreprocessConfig | None = None) -> DetPreprocessConfig:
    """``pre`` (default settings when None) updated with a detector's input spec (as stored with its weights):
    ``mean``/``std`` (with ``scale`` 1/255), ``limit_side_len`` and ``limit_type`` where the spec has them."""
    pre = pre or DetPreprocessConfig()
    if not spec:
        return pre
    if abs(float(spec.get("scale", 1 / 255)) - 1 / 255) > 1e-9:
        raise ValueError(f"detector input scale {spec['scale']} is not 1/255; unsupported normalisation")
    if "mean" in spec and "std" in spec:
        pre = replace(pre, mean=tuple(float(v) for v in spec["mean"]), std=tuple(float(v) for v in spec["std"]))
    if "limit_side_len" in spec:
        pre = replace(pre, limit_side_len=int(spec["limit_side_len"]))
    if "limit_type" in spec:
        pre = replace(pre, limit_type=str(spec["limit_type"]))
    return pre
