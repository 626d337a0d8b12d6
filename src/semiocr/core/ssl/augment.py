"""Weak and strong augmentation policies used by the SSL tasks.

``get_augment(name)`` returns ``fn(img_bgr_uint8, rng) -> img`` or ``None`` for ``"none"``. Until the shared
``core/augment.py`` policies are available these local ones are used; they only need OpenCV and NumPy.
Strong = the weak geometric jitter plus photometric noise, blur and erasing (the FixMatch-style strong view).
"""

from __future__ import annotations

import cv2
import numpy as np

from semiocr.core.ssl.data import Augment


def _affine(img: np.ndarray, rng: np.random.Generator, max_rot: float, max_shear: float, max_scale: float
            ) -> np.ndarray:
    h, w = img.shape[:2]
    angle = rng.uniform(-max_rot, max_rot)
    scale = 1.0 + rng.uniform(-max_scale, max_scale)
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
    m[0, 1] += rng.uniform(-max_shear, max_shear)
    return cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_REPLICATE)


def _crop(img: np.ndarray, rng: np.random.Generator, frac: float) -> np.ndarray:
    h, w = img.shape[:2]
    t, b = (int(rng.uniform(0, frac) * h) for _ in range(2))
    left, r = (int(rng.uniform(0, frac) * w) for _ in range(2))
    out = img[t:h - b or h, left:w - r or w]
    return out if out.size else img


def weak(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Small crop and affine jitter; text stays fully readable."""
    img = _crop(img, rng, 0.04)
    return _affine(img, rng, max_rot=2.0, max_shear=0.05, max_scale=0.05)


def strong(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Weak jitter plus colour/contrast, blur or noise, and random erasing of a thin vertical strip."""
    img = _crop(img, rng, 0.08)
    img = _affine(img, rng, max_rot=5.0, max_shear=0.2, max_scale=0.1)
    out = img.astype(np.float32)
    out = out * rng.uniform(0.6, 1.4) + rng.uniform(-40, 40)  # contrast, brightness
    if rng.random() < 0.3:
        out = 255.0 - out  # polarity flip
    if rng.random() < 0.5:
        out = out[:, :, rng.permutation(3)]  # colour channel shuffle
    if rng.random() < 0.5:
        k = int(rng.choice([3, 5]))
        out = cv2.GaussianBlur(out, (k, k), 0)
    if rng.random() < 0.5:
        out = out + rng.normal(0, rng.uniform(5, 20), out.shape)
    if rng.random() < 0.3:
        h, w = out.shape[:2]
        sw = max(1, int(w * rng.uniform(0.02, 0.06)))
        x0 = int(rng.integers(0, max(1, w - sw)))
        out[:, x0:x0 + sw] = rng.uniform(0, 255)
    return np.clip(out, 0, 255).astype(np.uint8)


_POLICIES: dict[str, Augment | None] = {"none": None, "weak": weak, "strong": strong}


def get_augment(name: str) -> Augment | None:
    """The augmentation policy ``name`` (``none``, ``weak`` or ``strong``)."""
    if name not in _POLICIES:
        raise ValueError(f"unknown augmentation policy {name!r}; known: {', '.join(_POLICIES)}")
    return _POLICIES[name]
