"""Reading MSTextRecLMSSLDataset label files (strict: the first problem raises, naming file and line).

Layout (DESIGN.md §3): ``train.txt`` / ``val.txt`` hold ``relative/path<TAB>label`` lines, UTF-8;
``train_unlabeled.txt`` holds one relative path per line; ``dict.txt`` one character per line.
The validator (``semiocr dataset check``) collects every problem instead of stopping at the first.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

TRAIN_FILE = "train.txt"
VAL_FILE = "val.txt"
UNLABELED_FILE = "train_unlabeled.txt"
DICT_FILE = "dict.txt"


class DatasetError(ValueError):
    """Bad dataset content; the message names the file and, where there is one, the line."""


@dataclass(frozen=True)
class Sample:
    """One recognition line: image path (absolute), label (``None`` when unlabelled), source location."""

    path: Path
    text: str | None
    source: str  # "file:line", for error messages and reports


def read_text_lines(path: Path) -> list[tuple[int, str]]:
    """Non-empty ``(line_number, line)`` pairs of a UTF-8 file; BOM and CRLF tolerated."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise DatasetError(f"{path}:{line}: not valid UTF-8 ({e.reason})") from None
    return [(i, line.rstrip("\r")) for i, line in enumerate(text.split("\n"), start=1) if line.strip("\r ")]


def resolve_inside(root: Path, rel: str, where: str) -> Path:
    """Resolve ``rel`` under ``root``; reject absolute paths, ``..`` and symlinks that leave the dataset."""
    p = PurePosixPath(rel.replace("\\", "/"))
    if p.is_absolute() or rel.startswith(("/", "\\")) or (len(rel) > 1 and rel[1] == ":"):
        raise DatasetError(f"{where}: path {rel!r} is absolute; paths must be relative to the dataset")
    if ".." in p.parts:
        raise DatasetError(f"{where}: path {rel!r} contains '..'; paths must stay inside the dataset")
    full = (root / Path(*p.parts)).resolve()
    if not full.is_relative_to(root.resolve()):
        raise DatasetError(f"{where}: path {rel!r} points outside the dataset (symlink)")
    return full


def _numbered_lines(root: Path, name: str) -> tuple[Path, list[tuple[str, str]]]:
    """``(file, [("file:line", line), ...])`` of a required dataset file."""
    path = root / name
    if not path.is_file():
        raise DatasetError(f"{path}: required file is missing")
    return path, [(f"{path}:{lineno}", line) for lineno, line in read_text_lines(path)]


def read_labelled(root: Path, name: str) -> list[Sample]:
    """Read a labelled split file (``path<TAB>label`` per line) of dataset ``root``."""
    path, lines = _numbered_lines(root, name)
    out = []
    for where, line in lines:
        if line.count("\t") != 1:
            raise DatasetError(f"{where}: expected exactly one TAB between path and label, "
                               f"found {line.count(chr(9))} in {line!r}")
        rel, text = line.split("\t")
        if not rel:
            raise DatasetError(f"{where}: empty image path")
        out.append(Sample(resolve_inside(root, rel, where), text, where))
    if not out:
        raise DatasetError(f"{path}: no labelled lines")
    return out


def read_unlabelled(root: Path, name: str = UNLABELED_FILE) -> list[Sample]:
    """Read the unlabelled pool (one relative path per line; a TAB-separated label is ignored)."""
    path, lines = _numbered_lines(root, name)
    out = [Sample(resolve_inside(root, line.split("\t")[0], where), None, where) for where, line in lines]
    if not out:
        raise DatasetError(f"{path}: no image paths")
    return out
