"""Generated check images for export and packaging: clean printed text lines of varied widths and a printed page,
each with its ground truth. Drawn with DejaVu Sans (shipped inside matplotlib) from one seeded generator, so a
seed gives the same pixels on every machine with the same Pillow and FreeType; nothing is downloaded."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from semiocr.core.data.synth import font_dir

WORDS = ("invoice", "Total", "2024", "Paris", "OCR", "model", "line", "number", "42.50", "text", "hello", "world",
         "detector", "sample", "page", "Berlin", "data", "open", "source", "quick", "brown", "fox", "export",
         "runtime", "offline", "package", "verify", "No.", "17", "ON-3")
FONT = "DejaVuSans.ttf"


def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(font_dir() / FONT), size)


def _to_bgr(img: Image.Image, rng: np.random.Generator, noise: int) -> np.ndarray:
    arr = np.asarray(img)[:, :, ::-1].astype(np.int16)
    if noise:
        arr = arr + rng.integers(-noise, noise + 1, arr.shape).astype(np.int16)
    return np.ascontiguousarray(np.clip(arr, 0, 255).astype(np.uint8))


def sample_line(text: str, rng: np.random.Generator, size: int = 30, noise: int = 6) -> np.ndarray:
    """``text`` printed dark on light paper, tightly cropped with a few pixels of margin (BGR uint8)."""
    font = _font(size)
    left, top, right, bottom = font.getbbox(text)
    pad_x, pad_y = int(rng.integers(4, 12)), int(rng.integers(4, 9))
    paper = tuple(int(v) for v in rng.integers(225, 256, 3))
    img = Image.new("RGB", (right - left + 2 * pad_x, bottom - top + 2 * pad_y), paper)
    ImageDraw.Draw(img).text((pad_x - left, pad_y - top), text, font=font,
                             fill=tuple(int(v) for v in rng.integers(0, 60, 3)))
    return _to_bgr(img, rng, noise)


def sample_lines(n: int = 6, seed: int = 0) -> list[tuple[np.ndarray, str]]:
    """``n`` printed lines of 1 to 8 words (widths from well under to several times the 320 px minimum at
    height 48) and their texts."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        words = 1 + (i * 7) % 8 if n > 1 else 3
        text = " ".join(rng.choice(WORDS, size=words).tolist())
        out.append((sample_line(text, rng, size=int(rng.integers(22, 36))), text))
    return out


def sample_page(seed: int = 0, size: tuple[int, int] = (520, 700), words: Sequence[str] = WORDS
                ) -> tuple[np.ndarray, list[tuple[str, list]]]:
    """A printed BGR page of 4–6 lines (random ``words``, sizes, positions, ink and paper tones, light pixel noise)
    and its truth: ``(text, box polygon)`` per line."""
    rng = np.random.default_rng(seed)
    h, w = size
    page = Image.new("RGB", (w, h), tuple(int(v) for v in rng.integers(225, 256, 3)))
    pen = ImageDraw.Draw(page)
    y = int(rng.integers(20, 50))
    truth = []
    while y < h - 60:
        font = _font(int(rng.integers(20, 34)))
        text = " ".join(rng.choice(list(words), size=int(rng.integers(1, 5))).tolist())
        x = int(rng.integers(15, 200))
        pen.text((x, y), text, fill=tuple(int(v) for v in rng.integers(0, 60, 3)), font=font)
        x0, y0, x1, y1 = pen.textbbox((x, y), text, font=font)
        truth.append((text, [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]))
        y += int(rng.integers(55, 95))
    return _to_bgr(page, rng, 8), truth
