"""The one recognition preprocessing, shared by training, evaluation, pseudo-labelling, service and export.

Contract (DESIGN.md §3): BGR uint8 image → height 48, width from the aspect ratio (at most the batch
width), ``(img/255 - 0.5)/0.5``, right-padded with 0 (in normalised space) to the batch width, NCHW float32.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

REC_HEIGHT = 48
REC_MIN_WIDTH = 320
REC_MEAN = 0.5
REC_STD = 0.5


def ensure_bgr_uint8(img: np.ndarray) -> np.ndarray:
    """Convert grayscale, BGRA (alpha composited on white) and 16-bit images to 3-channel BGR uint8."""
    if img.dtype == np.uint16:
        img = (img / 257.0).round().astype(np.uint8)
    elif img.dtype != np.uint8:
        img = np.clip(img, 0, 255).astype(np.uint8)
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    if img.ndim == 3 and img.shape[2] == 1:
        return cv2.cvtColor(img[:, :, 0], cv2.COLOR_GRAY2BGR)
    if img.ndim == 3 and img.shape[2] == 4:
        alpha = img[:, :, 3:4].astype(np.float32) / 255.0
        rgb = img[:, :, :3].astype(np.float32)
        return (rgb * alpha + 255.0 * (1.0 - alpha)).round().astype(np.uint8)
    if img.ndim == 3 and img.shape[2] == 3:
        return img
    raise ValueError(f"unsupported image shape {img.shape}")


def batch_width(images: Sequence[np.ndarray], height: int = REC_HEIGHT, min_width: int = REC_MIN_WIDTH,
                max_width: int | None = None) -> int:
    """Width a batch is padded to: the widest aspect ratio in the batch, at least ``min_width``."""
    ratio = max([img.shape[1] / max(img.shape[0], 1) for img in images] + [min_width / height])
    width = int(height * ratio)
    return min(width, max_width) if max_width else width


def resize_norm(img: np.ndarray, width: int, height: int = REC_HEIGHT) -> np.ndarray:
    """One image → ``[3, height, width]`` float32: aspect-preserving resize, normalise, right-pad with 0."""
    img = ensure_bgr_uint8(img)
    h, w = img.shape[:2]
    resized_w = min(width, max(1, int(math.ceil(height * w / max(h, 1)))))
    resized = cv2.resize(img, (resized_w, height)).astype(np.float32)
    resized = (resized / 255.0 - REC_MEAN) / REC_STD
    out = np.zeros((3, height, width), dtype=np.float32)
    out[:, :, :resized_w] = resized.transpose(2, 0, 1)
    return out


def preprocess_batch(images: Sequence[np.ndarray], height: int = REC_HEIGHT, min_width: int = REC_MIN_WIDTH,
                     max_width: int | None = None) -> np.ndarray:
    """Images (BGR uint8, any size) → ``[N, 3, height, W]`` float32 with ``W = batch_width(...)``."""
    if not images:
        raise ValueError("preprocess_batch needs at least one image")
    width = batch_width(images, height, min_width, max_width)
    return np.stack([resize_norm(img, width, height) for img in images])
