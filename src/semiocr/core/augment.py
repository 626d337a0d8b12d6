"""Text-line augmentation (OpenCV): a ``weak`` and a ``strong`` policy, deterministic given a generator.

Every transform keeps the text readable for a human: geometry changes are small (text lines are short in
height, so rotations of a few degrees already move characters a lot), photometric changes are stronger.
Callers pass an ``np.random.Generator``; the training data derives it from (seed, epoch, index) so that an
augmented epoch is reproducible regardless of worker count or resume.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from semiocr.runtime.images import ensure_bgr_uint8

Augment = Callable[[np.ndarray, np.random.Generator], np.ndarray]
POLICIES = ("none", "weak", "strong")


def _affine(img: np.ndarray, rng: np.random.Generator, max_deg: float, max_shear: float) -> np.ndarray:
    h, w = img.shape[:2]
    angle = rng.uniform(-max_deg, max_deg)
    shear = rng.uniform(-max_shear, max_shear)
    scale = rng.uniform(0.9, 1.05)
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
    m[0, 1] += shear
    m[0, 2] -= shear * h / 2
    return cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _perspective(img: np.ndarray, rng: np.random.Generator, amount: float) -> np.ndarray:
    h, w = img.shape[:2]
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    jitter = rng.uniform(-amount, amount, size=(4, 2)) * np.float32([w * 0.25, h])
    dst = (src + jitter).astype(np.float32)
    m = cv2.getPerspectiveTransform(src, dst)
    return cv2.warpPerspective(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _crop_jitter(img: np.ndarray, rng: np.random.Generator, frac: float) -> np.ndarray:
    h, w = img.shape[:2]
    top, bottom = (int(rng.uniform(0, frac) * h) for _ in range(2))
    left, right = (int(rng.uniform(0, frac / 2) * w) for _ in range(2))
    if h - top - bottom < 4 or w - left - right < 4:
        return img
    return img[top:h - bottom, left:w - right]


def _color(img: np.ndarray, rng: np.random.Generator, strength: float) -> np.ndarray:
    alpha = rng.uniform(1 - strength, 1 + strength)  # contrast
    beta = rng.uniform(-40, 40) * strength  # brightness
    out = img.astype(np.float32) * alpha + beta + (255 - 255 * alpha) / 2
    if rng.random() < 0.3 * strength:  # per-channel tint
        out *= rng.uniform(1 - strength / 2, 1 + strength / 2, size=(1, 1, 3))
    return np.clip(out, 0, 255).astype(np.uint8)


def _blur(img: np.ndarray, rng: np.random.Generator, motion: bool) -> np.ndarray:
    if motion:
        k = int(rng.integers(3, 6))
        kernel = np.zeros((k, k), np.float32)
        kernel[k // 2, :] = 1.0 / k
        return cv2.filter2D(img, -1, kernel)
    return cv2.GaussianBlur(img, (0, 0), sigmaX=rng.uniform(0.3, 1.2))


def _noise(img: np.ndarray, rng: np.random.Generator, sigma: float) -> np.ndarray:
    out = img.astype(np.float32) + rng.normal(0, rng.uniform(0, sigma), size=img.shape)
    return np.clip(out, 0, 255).astype(np.uint8)


def _jpeg(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(20, 70))])
    return cv2.imdecode(buf, cv2.IMREAD_COLOR) if ok else img


def _cutout(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = img.shape[:2]
    out = img.copy()
    for _ in range(int(rng.integers(1, 3))):
        ch, cw = max(1, int(h * rng.uniform(0.1, 0.3))), max(1, int(h * rng.uniform(0.1, 0.3)))
        y, x = int(rng.integers(0, max(1, h - ch))), int(rng.integers(0, max(1, w - cw)))
        out[y:y + ch, x:x + cw] = rng.integers(0, 256, size=3, dtype=np.uint8)
    return out


def weak(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Mild geometry and photometry: what a second photo of the same line could look like."""
    img = ensure_bgr_uint8(img)
    if rng.random() < 0.5:
        img = _crop_jitter(img, rng, 0.08)
    if rng.random() < 0.5:
        img = _affine(img, rng, max_deg=2.0, max_shear=0.1)
    if rng.random() < 0.5:
        img = _color(img, rng, 0.25)
    if rng.random() < 0.2:
        img = _blur(img, rng, motion=False)
    return img


def strong(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Heavier distortions for consistency training / pseudo-label rounds (text stays legible)."""
    img = ensure_bgr_uint8(img)
    if rng.random() < 0.6:
        img = _crop_jitter(img, rng, 0.12)
    if rng.random() < 0.7:
        img = _affine(img, rng, max_deg=4.0, max_shear=0.3)
    if rng.random() < 0.4:
        img = _perspective(img, rng, 0.08)
    img = _color(img, rng, 0.5)
    if rng.random() < 0.4:
        img = _blur(img, rng, motion=bool(rng.random() < 0.5))
    if rng.random() < 0.4:
        img = _noise(img, rng, 12.0)
    if rng.random() < 0.3:
        img = _jpeg(img, rng)
    if rng.random() < 0.1:
        img = 255 - img
    if rng.random() < 0.3:
        img = _cutout(img, rng)
    return img


def get_augment(policy: str, rotate_180: float = 0.0) -> Augment | None:
    """The augmentation function of ``policy`` (``"none"`` → ``None``).

    ``rotate_180`` > 0 also turns each line by 180° with that probability, its label unchanged: the model learns to
    read upside-down lines in one pass (wire markers, nameplates photographed either way round). Keep it 0 where
    turned characters read as other ones (6/9 in digit strings).
    """
    table: dict[str, Augment | None] = {"none": None, "weak": weak, "strong": strong}
    if policy not in table:
        raise ValueError(f"unknown augmentation policy {policy!r}; choose one of {', '.join(POLICIES)}")
    if not 0.0 <= rotate_180 <= 1.0:
        raise ValueError(f"rotate_180 is a probability in [0, 1], got {rotate_180}")
    base = table[policy]
    if rotate_180 == 0.0:
        return base

    def augment(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        turned = rng.random() < rotate_180
        img = base(img, rng) if base is not None else img
        return cv2.rotate(img, cv2.ROTATE_180) if turned else img

    return augment
