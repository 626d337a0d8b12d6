"""Generated printed pages with their ground truth (DejaVu Sans from matplotlib): what the imported PP-OCRv4
detector and recognizer read (nearly) perfectly, for parity and end-to-end tests."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import matplotlib
import numpy as np
from PIL import Image, ImageDraw, ImageFont

_FONT = str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf")
_WORDS = ["invoice", "Total", "2024", "Paris", "OCR", "model", "line", "number", "42.50", "text", "hello",
          "world", "detector", "sample", "page", "Berlin", "data", "open", "source", "quick", "brown", "fox"]


def generated_page(seed: int, size: tuple[int, int] = (520, 700)) -> tuple[np.ndarray, list[tuple[str, list]]]:
    """A printed BGR page of 4–6 lines (random words, sizes, positions, ink and paper tones, pixel noise) and its
    ground truth: ``(text, box polygon)`` per line."""
    rng = np.random.default_rng(seed)
    h, w = size
    page = Image.new("RGB", (w, h), tuple(int(v) for v in rng.integers(225, 256, 3)))
    pen = ImageDraw.Draw(page)
    y = int(rng.integers(20, 50))
    truth = []
    while y < h - 60:
        font = ImageFont.truetype(_FONT, int(rng.integers(20, 34)))
        text = " ".join(rng.choice(_WORDS, size=int(rng.integers(1, 5))))
        x = int(rng.integers(15, 200))
        pen.text((x, y), text, fill=tuple(int(v) for v in rng.integers(0, 60, 3)), font=font)
        x0, y0, x1, y1 = pen.textbbox((x, y), text, font=font)
        truth.append((text, [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]))
        y += int(rng.integers(55, 95))
    arr = np.asarray(page)[:, :, ::-1].astype(np.int16)
    arr += rng.integers(-8, 9, arr.shape).astype(np.int16)
    return np.clip(arr, 0, 255).astype(np.uint8), truth


def write_text_pages(root: Path, seeds: list[int], label_file: str = "det_val.txt") -> list[list[str]]:
    """Write ``generated_page(seed)`` for each seed under ``root/images`` and a PaddleOCR ``Label.txt``-style
    ``label_file``; returns each page's line texts."""
    (root / "images").mkdir(parents=True, exist_ok=True)
    rows, texts = [], []
    for seed in seeds:
        img, truth = generated_page(seed)
        rel = f"images/page_{seed}.png"
        cv2.imwrite(str(root / rel), img)
        rows.append(f"{rel}\t" + json.dumps([{"transcription": t, "points": p} for t, p in truth]))
        texts.append([t for t, _ in truth])
    (root / label_file).write_text("\n".join(rows) + "\n", encoding="utf-8")
    return texts
