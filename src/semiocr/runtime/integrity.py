"""Integrity of an offline package (torch-free): ``SHA256SUMS`` over every file, and the comparison of two
readings of a page (same texts in the same order, box corners within a tolerance in pixels).

``SHA256SUMS`` holds ``<sha256>  <relative path>`` per file (the format of ``sha256sum``, so ``sha256sum -c
SHA256SUMS`` checks it too). Checksums catch damaged or edited files; they do not prove who built the package:
compare the SHA-256 of ``SHA256SUMS`` itself with the one its builder published.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path, PurePosixPath

SUMS_FILE = "SHA256SUMS"
#: folders whose every file must be listed (an added file there fails ``verify``); Python's byte-code caches
#: (``__pycache__``) are ignored, anything outside these folders (the user's own images) too
GUARDED_DIRS = ("models", "semiocr_runtime", "selftest")


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file, read in blocks."""
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def package_files(root: Path) -> list[str]:
    """Relative POSIX paths of every file under ``root`` (sorted), except ``SHA256SUMS`` and byte-code caches."""
    out = []
    for p in root.rglob("*"):
        rel = p.relative_to(root)
        if p.is_file() and rel.as_posix() != SUMS_FILE and "__pycache__" not in rel.parts:
            out.append(rel.as_posix())
    return sorted(out)


def write_sums(root: Path, files: Iterable[str] | None = None) -> Path:
    """Write ``root/SHA256SUMS`` over ``files`` (default: every file of the package)."""
    names = sorted(files) if files is not None else package_files(root)
    lines = [f"{sha256_file(root / name)}  {name}\n" for name in names]
    path = root / SUMS_FILE
    path.write_text("".join(lines), encoding="utf-8")
    return path


def read_sums(root: Path) -> dict[str, str]:
    """``{relative path: sha256}`` from ``root/SHA256SUMS``; a malformed line or an unsafe path is a
    ``ValueError`` naming the line."""
    path = root / SUMS_FILE
    if not path.is_file():
        raise ValueError(f"{SUMS_FILE}: missing; the package cannot be checked")
    sums: dict[str, str] = {}
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        digest, sep, name = line.partition("  ")
        rel = PurePosixPath(name)
        if not sep or len(digest) != 64 or not name:
            raise ValueError(f"{SUMS_FILE}:{lineno}: expected '<sha256>  <path>', got {line[:80]!r}")
        if rel.is_absolute() or ".." in rel.parts:
            raise ValueError(f"{SUMS_FILE}:{lineno}: path {name!r} leaves the package")
        sums[name] = digest.lower()
    return sums


def check_sums(root: Path) -> list[str]:
    """Problems with the package's files, each naming the file: missing, changed, or not listed in a guarded
    folder. Empty when every file is intact."""
    try:
        sums = read_sums(root)
    except ValueError as e:
        return [str(e)]
    problems = []
    for name, digest in sorted(sums.items()):
        path = root / name
        if not path.is_file():
            problems.append(f"{name}: missing")
        elif sha256_file(path) != digest:
            problems.append(f"{name}: checksum mismatch (the file was changed or damaged)")
    for name in package_files(root):
        if name not in sums and name.split("/", 1)[0] in GUARDED_DIRS:
            problems.append(f"{name}: not listed in {SUMS_FILE} (a file was added to the package)")
    return problems


def compare_lines(expected: Sequence[Mapping], got: Sequence[Mapping], box_tolerance: float) -> list[str]:
    """Differences between two readings of one image (lists of ``{"text", "polygon"}``): line count, text of each
    line, and corners that move by more than ``box_tolerance`` pixels. Empty when they agree."""
    if len(expected) != len(got):
        return [f"{len(got)} lines read, {len(expected)} expected: {[g['text'] for g in got]} vs "
                f"{[e['text'] for e in expected]}"]
    problems = []
    for i, (e, g) in enumerate(zip(expected, got, strict=True)):
        if e["text"] != g["text"]:
            problems.append(f"line {i + 1}: read {g['text']!r}, expected {e['text']!r}")
        if len(e["polygon"]) != len(g["polygon"]):
            problems.append(f"line {i + 1} ({e['text']!r}): {len(g['polygon'])} corners, {len(e['polygon'])} expected")
            continue
        moved = max((abs(float(a) - float(b)) for pe, pg in zip(e["polygon"], g["polygon"], strict=True)
                     for a, b in zip(pe, pg, strict=True)), default=0.0)
        if moved > box_tolerance:
            problems.append(f"line {i + 1} ({e['text']!r}): box corners moved by {moved:.2f} px "
                            f"(tolerance {box_tolerance:g} px)")
    return problems
