"""Generated text-line datasets (OpenCV-rendered digits) for the tests: fast to make, easy for tiny models."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

DIGITS = "0123456789"


def render_line(text: str, rng: np.random.Generator, height: int = 32) -> np.ndarray:
    """Render ``text`` (ASCII) dark-on-light with a random font scale, offset, tint and noise; BGR uint8."""
    font = cv2.FONT_HERSHEY_SIMPLEX
    scale = rng.uniform(0.8, 1.0)
    thick = int(rng.integers(1, 3))
    (tw, th), base = cv2.getTextSize(text, font, scale, thick)
    w = tw + int(rng.integers(6, 16))
    img = np.full((max(height, th + base + 4), w, 3), rng.integers(180, 256, size=3), np.uint8)
    x = int(rng.integers(2, max(3, w - tw - 2)))
    y = (img.shape[0] + th) // 2
    color = tuple(int(c) for c in rng.integers(0, 90, size=3))
    cv2.putText(img, text, (x, y), font, scale, color, thick, cv2.LINE_AA)
    noise = rng.normal(0, 6, size=img.shape)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


def make_rec_dataset(root: str | Path, n_train: int = 200, n_val: int = 50, n_unlabeled: int = 0,
                     alphabet: str = DIGITS, min_len: int = 3, max_len: int = 5, seed: int = 0) -> Path:
    """Write an MSTextRecLMSSLDataset (images/, train.txt, val.txt, train_unlabeled.txt, dict.txt)."""
    root = Path(root)
    (root / "images").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    splits = {"train": n_train, "val": n_val, "unlabeled": n_unlabeled}
    for split, n in splits.items():
        lines = []
        for i in range(n):
            text = "".join(rng.choice(list(alphabet), size=int(rng.integers(min_len, max_len + 1))))
            rel = f"images/{split}_{i:05d}.png"
            cv2.imwrite(str(root / rel), render_line(text, rng))
            lines.append(rel if split == "unlabeled" else f"{rel}\t{text}")
        name = "train_unlabeled.txt" if split == "unlabeled" else f"{split}.txt"
        if n or split != "unlabeled":
            (root / name).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    (root / "dict.txt").write_text("".join(c + "\n" for c in alphabet), encoding="utf-8")
    return root
