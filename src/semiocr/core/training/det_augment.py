"""Detection augmentation: colour jitter, rotation, scale and a random crop that never cuts through text.

Every geometric step transforms the polygons with the image, so labels stay consistent. The crop follows
EAST/DB practice: crop edges are drawn only from rows and columns no text polygon covers, so each polygon is
either kept whole or dropped; the crop is then resized (keeping the aspect ratio) and padded to ``size``².
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

Polys = list[np.ndarray]


@dataclass(frozen=True)
class DetAugConfig:
    """Augmentation settings; ``size`` is the square training input (a multiple of 32)."""

    size: int = 640
    rotate_deg: float = 10.0
    scale_range: tuple[float, float] = (0.5, 3.0)
    crop_min_ratio: float = 0.1
    crop_tries: int = 50
    brightness: float = 0.3
    contrast: float = 0.3
    saturation: float = 0.3


def colour_jitter(img: np.ndarray, rng: np.random.Generator, cfg: DetAugConfig) -> np.ndarray:
    """Random brightness, contrast and saturation (BGR uint8 in and out)."""
    out = img.astype(np.float32)
    gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).astype(np.float32)[..., None]
    out = gray + (out - gray) * rng.uniform(1 - cfg.saturation, 1 + cfg.saturation)
    out = out.mean() + (out - out.mean()) * rng.uniform(1 - cfg.contrast, 1 + cfg.contrast)
    out = out * rng.uniform(1 - cfg.brightness, 1 + cfg.brightness)
    return np.clip(out, 0, 255).astype(np.uint8)


def rotate(img: np.ndarray, polys: Polys, angle: float) -> tuple[np.ndarray, Polys]:
    """Rotate by ``angle`` degrees (counter-clockwise) on a canvas grown to hold the whole image."""
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    cos, sin = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(np.ceil(h * sin + w * cos)), int(np.ceil(h * cos + w * sin))
    m[0, 2] += nw / 2 - w / 2
    m[1, 2] += nh / 2 - h / 2
    out = cv2.warpAffine(img, m, (nw, nh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    return out, [(p @ m[:, :2].T + m[:, 2]).astype(np.float32) for p in polys]


def scale(img: np.ndarray, polys: Polys, factor: float) -> tuple[np.ndarray, Polys]:
    """Resize by ``factor`` (at least 1 pixel per side)."""
    h, w = img.shape[:2]
    nw, nh = max(1, round(w * factor)), max(1, round(h * factor))
    out = cv2.resize(img, (nw, nh))
    return out, [p * np.array([nw / w, nh / h], np.float32) for p in polys]


def _free_edges(length: int, spans: Sequence[tuple[float, float]]) -> np.ndarray:
    covered = np.zeros(length + 1, bool)
    for a, b in spans:
        covered[max(0, int(np.floor(a))):min(length, int(np.ceil(b))) + 1] = True
    return np.nonzero(~covered)[0]


def _pick_span(free: np.ndarray, min_len: int, rng: np.random.Generator) -> tuple[int, int] | None:
    if len(free) < 2:
        return None
    a, b = sorted(rng.choice(free, size=2, replace=False).tolist())
    return (a, b) if b - a >= min_len else None


def random_crop(img: np.ndarray, polys: Polys, ignore: list[bool], rng: np.random.Generator,
                cfg: DetAugConfig) -> tuple[np.ndarray, Polys, list[bool]]:
    """Crop along text-free rows/columns keeping at least one care polygon whole; falls back to no crop."""
    h, w = img.shape[:2]
    free_x = _free_edges(w, [(p[:, 0].min(), p[:, 0].max()) for p in polys])
    free_y = _free_edges(h, [(p[:, 1].min(), p[:, 1].max()) for p in polys])
    for _ in range(cfg.crop_tries):
        sx = _pick_span(free_x, int(w * cfg.crop_min_ratio), rng)
        sy = _pick_span(free_y, int(h * cfg.crop_min_ratio), rng)
        if sx is None or sy is None:
            break
        (x0, x1), (y0, y1) = sx, sy
        inside = [bool((p[:, 0] >= x0).all() and (p[:, 0] <= x1).all() and (p[:, 1] >= y0).all()
                       and (p[:, 1] <= y1).all()) for p in polys]
        if polys and not any(k and not ig for k, ig in zip(inside, ignore, strict=True)):
            continue
        keep = [i for i, k in enumerate(inside) if k]
        return (img[y0:y1, x0:x1], [polys[i] - np.array([x0, y0], np.float32) for i in keep],
                [ignore[i] for i in keep])
    return img, polys, ignore


def resize_pad(img: np.ndarray, polys: Polys, size: int) -> tuple[np.ndarray, Polys]:
    """Fit into ``size``² keeping the aspect ratio, pad right/bottom with black."""
    h, w = img.shape[:2]
    f = size / max(h, w)
    nw, nh = max(1, min(size, round(w * f))), max(1, min(size, round(h * f)))
    out = np.zeros((size, size, 3), np.uint8)
    out[:nh, :nw] = cv2.resize(img, (nw, nh))
    return out, [p * np.array([nw / w, nh / h], np.float32) for p in polys]


def augment_det(img: np.ndarray, polys: Sequence[np.ndarray], ignore: Sequence[bool], rng: np.random.Generator,
                cfg: DetAugConfig = DetAugConfig()) -> tuple[np.ndarray, Polys, list[bool]]:
    """Training view of one page: jitter → rotate → scale → crop keeping text → resize/pad to ``cfg.size``²."""
    polys = [np.asarray(p, np.float32).reshape(-1, 2) for p in polys]
    ignore = list(ignore)
    img = colour_jitter(img, rng, cfg)
    if cfg.rotate_deg > 0:
        img, polys = rotate(img, polys, rng.uniform(-cfg.rotate_deg, cfg.rotate_deg))
    img, polys = scale(img, polys, rng.uniform(*cfg.scale_range))
    img, polys, ignore = random_crop(img, polys, ignore, rng, cfg)
    img, polys = resize_pad(img, polys, cfg.size)
    return img, polys, ignore
