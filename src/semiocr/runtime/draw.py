"""Pictures of OCR results: boxes on the image, and the text written into the same boxes beside it."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from semiocr.runtime.images import ensure_bgr_uint8


@lru_cache(maxsize=1)
def _font_path() -> str:
    import matplotlib

    return str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf")


def _colour(i: int) -> tuple[int, int, int]:
    rng = np.random.default_rng(i)
    return tuple(int(v) for v in rng.integers(40, 220, 3))


def draw_ocr(img: np.ndarray, polygons: Sequence[Sequence[Sequence[float]]], texts: Sequence[str]) -> np.ndarray:
    """BGR picture twice the width of ``img``: left the image with each line's polygon, right the text of each
    line written inside the same polygon on white (the PaddleOCR/RapidOCR layout)."""
    left = ensure_bgr_uint8(np.asarray(img)).copy()
    h, w = left.shape[:2]
    right = Image.new("RGB", (w, h), (255, 255, 255))
    pen = ImageDraw.Draw(right)
    thick = max(1, round(max(h, w) / 800))
    for i, (poly, text) in enumerate(zip(polygons, texts, strict=True)):
        pts = np.asarray(poly, np.float32).reshape(-1, 2)
        colour = _colour(i)
        cv2.polylines(left, [np.round(pts).astype(np.int32)], True, colour, thick * 2, cv2.LINE_AA)
        pen.polygon([tuple(p) for p in pts.tolist()], outline=colour[::-1])
        x0, y0 = pts.min(axis=0)
        bw, bh = np.ptp(pts, axis=0)
        size = int(max(8, min(bh * 0.8, bw / max(len(text), 1) * 1.8)))
        pen.text((float(x0) + 2, float(y0)), text, fill=(0, 0, 0), font=ImageFont.truetype(_font_path(), size))
    right_bgr = cv2.cvtColor(np.asarray(right), cv2.COLOR_RGB2BGR)
    return np.concatenate([left, right_bgr], axis=1)
