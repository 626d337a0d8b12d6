"""The one recognition preprocessing, shared by training, evaluation, pseudo-labelling, service and export
(torch-free).

Contract (DESIGN.md §3): BGR uint8 image → height 48, width from the aspect ratio (at most the batch
width), ``(img/255 - 0.5)/0.5``, right-padded with 0 (in normalised space) to the batch width, NCHW float32.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

from semiocr.runtime.images import ensure_bgr_uint8

REC_HEIGHT = 48
REC_MIN_WIDTH = 320
REC_MEAN = 0.5
REC_STD = 0.5


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


def width_batches(images: Sequence[np.ndarray], batch_size: int) -> list[list[int]]:
    """Indices of ``images`` grouped into batches of similar aspect ratio (narrow first), so each batch pads little."""
    ratios = [img.shape[1] / max(img.shape[0], 1) for img in images]
    order = sorted(range(len(images)), key=lambda i: ratios[i])
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
