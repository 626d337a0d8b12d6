"""Generated printed pages with their ground truth (DejaVu Sans from matplotlib): what the imported PP-OCRv4
detector and recognizer read (nearly) perfectly, for parity and end-to-end tests."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from semiocr.core.export.samples import sample_page

_WORDS = ["invoice", "Total", "2024", "Paris", "OCR", "model", "line", "number", "42.50", "text", "hello",
          "world", "detector", "sample", "page", "Berlin", "data", "open", "source", "quick", "brown", "fox"]


def generated_page(seed: int, size: tuple[int, int] = (520, 700)) -> tuple[np.ndarray, list[tuple[str, list]]]:
    """A printed BGR page of 4–6 lines of plain words and its ground truth: ``(text, box polygon)`` per line (the
    package's ``sample_page`` with a word list that the imported models read perfectly)."""
    return sample_page(seed, size, _WORDS)


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
