"""Tiny generated datasets for the data-layer tests (no real data, a few small PNGs)."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np


def write_png(path: Path, w: int = 64, h: int = 16, value: int = 200) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    img = np.full((h, w, 3), value, np.uint8)
    cv2.putText(img, "ab", (2, h - 3), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1)
    cv2.imwrite(str(path), img)
    return path


def make_dataset(root: Path, n_train: int = 3, n_val: int = 2, n_unl: int = 2) -> Path:
    """A valid dataset: labels use 'a', 'b', 'c' and a space; dict.txt holds a, b, c."""
    rows = {"train.txt": [], "val.txt": [], "train_unlabeled.txt": []}
    for split, n in (("train", n_train), ("val", n_val), ("unl", n_unl)):
        for i in range(n):
            rel = f"images/{split}_{i}.png"
            write_png(root / rel, value=150 + 10 * i + (5 if split == "val" else 0) + (2 if split == "unl" else 0))
            if split == "unl":
                rows["train_unlabeled.txt"].append(rel)
            else:
                rows[f"{split}.txt"].append(f"{rel}\tab c{i}"[:-1] + "abc"[i % 3])
    for name, lines in rows.items():
        (root / name).write_text("".join(x + "\n" for x in lines), encoding="utf-8")
    (root / "dict.txt").write_text("a\nb\nc\n", encoding="utf-8")
    return root


def png_bomb_bytes(w: int = 40000, h: int = 40000) -> bytes:
    """A valid 1-bit grayscale PNG of ``w x h`` pixels, a few hundred KB on disk (decompression bomb)."""
    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    comp = zlib.compressobj(9)
    row = b"\x00" * (1 + (w + 7) // 8)
    body = b"".join(comp.compress(row) for _ in range(h)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", w, h, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def make_det_dataset(root: Path, n_train: int = 4, n_val: int = 2) -> None:
    """Generated detection pages: two dark text-like bars each plus one ``###`` region, det_train/det_val.txt."""
    (root / "images").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for split, n in (("det_train.txt", n_train), ("det_val.txt", n_val)):
        lines = []
        for k in range(n):
            img = np.full((160, 192, 3), 235, np.uint8)
            regions = []
            for j in range(2):
                x, y = int(rng.integers(10, 60)), 20 + 70 * j + int(rng.integers(0, 20))
                w, h = int(rng.integers(60, 110)), int(rng.integers(14, 24))
                img[y:y + h, x:x + w] = 20
                regions.append({"transcription": "ab", "points": [[x, y], [x + w, y], [x + w, y + h], [x, y + h]]})
            regions.append({"transcription": "###", "points": [[150, 5], [185, 5], [185, 15], [150, 15]]})
            name = f"images/{split[4:-4]}_{k}.png"
            cv2.imwrite(str(root / name), img)
            lines.append(f"{name}\t{json.dumps(regions)}")
        (root / split).write_text("\n".join(lines) + "\n", encoding="utf-8")
