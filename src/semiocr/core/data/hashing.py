"""Content hash of a dataset directory: sha256 over sorted relative paths, sizes and bytes."""

from __future__ import annotations

import hashlib
from pathlib import Path

CHUNK = 1 << 20


def list_files(root: str | Path) -> list[Path]:
    """Regular files under ``root`` (symlinks followed only when they stay inside), sorted by relative path."""
    root = Path(root).resolve()
    out = []
    for p in root.rglob("*"):
        if p.is_file() and p.resolve().is_relative_to(root):
            out.append(p)
    return sorted(out, key=lambda p: p.relative_to(root).as_posix())


def dataset_hash(root: str | Path) -> str:
    """``sha256:<hex>`` identifying the exact content of ``root`` (file names, sizes and bytes)."""
    root = Path(root).resolve()
    h = hashlib.sha256()
    for p in list_files(root):
        rel = p.relative_to(root).as_posix().encode("utf-8")
        h.update(len(rel).to_bytes(4, "big") + rel + p.stat().st_size.to_bytes(8, "big"))
        with open(p, "rb") as f:
            while chunk := f.read(CHUNK):
                h.update(chunk)
    return "sha256:" + h.hexdigest()


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of one file's bytes (read in chunks)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()
