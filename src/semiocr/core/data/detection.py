"""Detection labels in PaddleOCR ``Label.txt`` style: ``path<TAB>[{"transcription": str, "points": [[x,y],...]}]``.

A transcription of ``###`` marks a don't-care region (``ignore=True``), as in ICDAR 2015 and PaddleOCR.
PPOCRLabel's optional ``"difficult": true`` also marks a region as ignored. ``read_det_labels`` is strict
(first problem raises ``DatasetError`` naming file and line); ``check_det_labels`` collects every problem.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from semiocr.core.data.labels import DatasetError, read_text_lines, resolve_inside
from semiocr.runtime.geometry import polygon_area_perimeter

IGNORE_TEXT = "###"


class DetSampleLike(Protocol):
    """What detection training and evaluation read of a page (``DetSample`` has it): the image, one ``(K, 2)``
    polygon per region with its text and ignore flag, and where the sample comes from (for messages)."""

    path: Path
    polygons: list[np.ndarray]
    texts: list[str]
    ignore: list[bool]
    source: str


@dataclass(frozen=True)
class DetSample:
    """One detection image: absolute path, one ``(K,2)`` float32 polygon per region, texts, ignore flags."""

    path: Path
    polygons: list[np.ndarray]
    texts: list[str]
    ignore: list[bool]
    source: str  # "file:line"


@dataclass
class DetCheck:
    """Result of ``check_det_labels``: parsed samples plus every error/warning as ``(where, message)``."""

    samples: list[DetSample] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)


def _parse_points(points: object, where: str, k: int) -> np.ndarray:
    """Validate one ``points`` list: >= 3 finite ``[x, y]`` pairs."""
    if not isinstance(points, list) or len(points) < 3:
        raise DatasetError(f"{where}: region {k}: 'points' must be a list of at least 3 [x, y] pairs")
    try:
        arr = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError):
        raise DatasetError(f"{where}: region {k}: 'points' must hold numbers [[x, y], ...]") from None
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise DatasetError(f"{where}: region {k}: 'points' must be [x, y] pairs, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise DatasetError(f"{where}: region {k}: 'points' holds NaN or infinity")
    return arr.astype(np.float32)


def parse_det_regions(payload: str, where: str) -> tuple[list[np.ndarray], list[str], list[bool]]:
    """Parse the JSON part of a detection line into polygons, texts and ignore flags; raises ``DatasetError``."""
    try:
        regions = json.loads(payload)
    except json.JSONDecodeError as e:
        raise DatasetError(f"{where}: label is not valid JSON ({e.msg} at column {e.colno})") from None
    if not isinstance(regions, list):
        raise DatasetError(f"{where}: label must be a JSON list of regions, got {type(regions).__name__}")
    polys, texts, ignore = [], [], []
    for k, reg in enumerate(regions, start=1):
        if not isinstance(reg, dict) or "points" not in reg:
            raise DatasetError(f"{where}: region {k} must be an object with 'points' (and 'transcription')")
        text = reg.get("transcription", "")
        if not isinstance(text, str):
            raise DatasetError(f"{where}: region {k}: 'transcription' must be a string")
        polys.append(_parse_points(reg["points"], where, k))
        texts.append(text)
        ignore.append(text == IGNORE_TEXT or bool(reg.get("difficult", False)))
    return polys, texts, ignore


def split_det_line(line: str, where: str) -> tuple[str, str]:
    """``path<TAB>json`` → ``(path, json)``; raises ``DatasetError`` on a missing/extra TAB or empty path."""
    if line.count("\t") != 1:
        raise DatasetError(f"{where}: expected exactly one TAB between path and JSON, found {line.count(chr(9))}")
    rel, payload = line.split("\t")
    if not rel:
        raise DatasetError(f"{where}: empty image path")
    return rel, payload


def parse_det_line(root: Path, line: str, where: str) -> DetSample:
    """Parse one ``path<TAB>json`` line of a detection label file; raises ``DatasetError``."""
    rel, payload = split_det_line(line, where)
    path = resolve_inside(root, rel, where)
    polys, texts, ignore = parse_det_regions(payload, where)
    return DetSample(path, polys, texts, ignore, where)


def read_det_labels(root: str | Path, name: str) -> list[DetSample]:
    """Read detection label file ``name`` of dataset ``root`` (strict: first problem raises ``DatasetError``)."""
    root = Path(root)
    path = root / name
    if not path.is_file():
        raise DatasetError(f"{path}: required file is missing")
    out = [parse_det_line(root, line, f"{path}:{n}") for n, line in read_text_lines(path)]
    if not out:
        raise DatasetError(f"{path}: no labelled lines")
    return out


def check_det_labels(root: str | Path, name: str, image_size: dict[Path, tuple[int, int]] | None = None) -> DetCheck:
    """Collect every problem of a detection label file (errors block, warnings do not).

    ``image_size`` maps absolute image paths to ``(width, height)``; with it, points outside the image are
    reported as warnings.
    """
    root = Path(root)
    path = root / name
    res = DetCheck()
    if not path.is_file():
        res.errors.append((str(path), "required file is missing"))
        return res
    try:
        lines = read_text_lines(path)
    except DatasetError as e:
        res.errors.append((str(path), str(e)))
        return res
    seen: dict[Path, str] = {}
    for n, line in lines:
        where = f"{path}:{n}"
        try:
            s = parse_det_line(root, line, where)
        except DatasetError as e:
            res.errors.append((where, str(e)))
            continue
        if s.path in seen:
            res.warnings.append((where, f"image listed again (first at {seen[s.path]})"))
        seen.setdefault(s.path, where)
        _check_regions(s, res, (image_size or {}).get(s.path))
        res.samples.append(s)
    if not lines:
        res.errors.append((str(path), "no labelled lines"))
    return res


def _check_regions(s: DetSample, res: DetCheck, size: tuple[int, int] | None) -> None:
    """Warnings for degenerate polygons, empty transcriptions and points outside the image."""
    for k, (poly, text) in enumerate(zip(s.polygons, s.texts, strict=True), start=1):
        if polygon_area_perimeter(poly)[0] < 1.0:
            res.warnings.append((s.source, f"region {k}: polygon has (near) zero area"))
        if text == "":
            res.warnings.append((s.source, f"region {k}: empty transcription (use '###' for don't-care)"))
        if size is not None:
            w, h = size
            if (poly[:, 0] < -1).any() or (poly[:, 1] < -1).any() or (poly[:, 0] > w + 1).any() \
                    or (poly[:, 1] > h + 1).any():
                res.warnings.append((s.source, f"region {k}: points outside the {w}x{h} image"))
