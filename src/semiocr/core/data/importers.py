"""Importers: PPOCRLabel recognition output and PaddleOCR/PPOCRLabel detection ``Label.txt`` → our layout.

PPOCRLabel's "export recognition result" writes ``rec_gt.txt`` (``crop_img/<name>.jpg<TAB>text``) and the
crops in ``crop_img/``; its split script writes ``rec_gt_train.txt`` / ``rec_gt_val.txt`` /
``rec_gt_test.txt``. Detection labels are ``<folder>/<image><TAB>[{"transcription", "points", ...}]`` with
the path relative to the folder above the images (PPOCRLabel) or to the label file (PaddleOCR).
Importers copy (never move) images into ``images/`` of the target and write the label files; the source is
never changed. A problem raises ``DatasetError`` naming file and line, before anything is written.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np

from semiocr.core.data.detection import parse_det_regions, split_det_line
from semiocr.core.data.labels import DatasetError, read_text_lines
from semiocr.runtime.charset import Charset

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


@dataclass
class ImportResult:
    """What an importer wrote: counts per output file and notes for the user."""

    out: Path
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def find_source_image(rel: str, bases: list[Path], where: str) -> Path:
    """Locate ``rel`` of a source label file: as given, then under each base, then without leading folders."""
    p = PurePosixPath(rel.replace("\\", "/"))
    if p.is_absolute() and Path(rel).is_file():
        return Path(rel)
    parts = p.parts[1:] if p.is_absolute() else p.parts
    for base in bases:
        for k in range(len(parts)):
            cand = base.joinpath(*parts[k:])
            if cand.is_file():
                return cand
    raise DatasetError(f"{where}: image {rel!r} not found (looked under {', '.join(str(b) for b in bases)})")


def _prepare_out(out: Path, names: list[str]) -> None:
    for name in names:
        if (out / name).exists():
            raise DatasetError(f"{out / name}: already exists; import into a new directory or remove it first")


def _copy(src: Path, out: Path, rel: str) -> str:
    dst = out / rel
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src, dst)
    return rel


def _existing(out: Path) -> set[str]:
    """Relative POSIX paths already under ``out`` (so an import never overwrites a file)."""
    return {p.relative_to(out).as_posix() for p in out.rglob("*")} if out.is_dir() else set()


def _unique_rel(folder: str, src: Path, used: set[str]) -> str:
    """``images/<folder>/<name>``, with a numeric suffix when two sources share a file name."""
    rel, n = f"images/{folder}/{src.name}", 1
    while rel in used:
        rel, n = f"images/{folder}/{src.stem}_{n}{src.suffix}", n + 1
    used.add(rel)
    return rel


def _read_rec_gt(path: Path, bases: list[Path]) -> list[tuple[Path, str]]:
    rows = []
    for n, line in read_text_lines(path):
        where = f"{path}:{n}"
        if line.count("\t") != 1:
            raise DatasetError(f"{where}: expected exactly one TAB between path and label, found {line.count(chr(9))}")
        rel, text = line.split("\t")
        rows.append((find_source_image(rel, bases, where), text))
    if not rows:
        raise DatasetError(f"{path}: no labelled lines")
    return rows


def _split(rows: list, val_fraction: float, seed: int) -> tuple[list, list]:
    if not 0.0 < val_fraction < 1.0:
        raise DatasetError(f"val_fraction must be between 0 and 1, got {val_fraction}")
    order = np.random.default_rng(seed).permutation(len(rows))
    n_val = max(1, int(round(len(rows) * val_fraction)))
    if n_val >= len(rows):
        raise DatasetError(f"only {len(rows)} labelled lines: too few to split off a validation set")
    val_idx = set(order[:n_val].tolist())
    return [r for i, r in enumerate(rows) if i not in val_idx], [r for i, r in enumerate(rows) if i in val_idx]


def _list_images(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise DatasetError(f"{folder}: unlabelled image folder not found")
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def import_ppocrlabel_rec(src: str | Path, out: str | Path, val_fraction: float = 0.1, seed: int = 0,
                          unlabeled_dir: str | Path | None = None, use_space: bool = True) -> ImportResult:
    """Convert PPOCRLabel recognition output in ``src`` into an MSTextRecLMSSLDataset at ``out``.

    Uses ``rec_gt_train.txt`` + ``rec_gt_val.txt`` (else ``rec_gt_test.txt``) as train/val when present,
    otherwise ``rec_gt.txt`` split by ``val_fraction`` (seeded). Images of ``unlabeled_dir`` (recursive)
    become the unlabelled pool. ``dict.txt`` is generated from the train and val labels.
    """
    src, out = Path(src), Path(out)
    bases = [src, src / "crop_img", src.parent]
    res = ImportResult(out)
    if (src / "rec_gt_train.txt").is_file():
        train = _read_rec_gt(src / "rec_gt_train.txt", bases)
        val_name = next((n for n in ("rec_gt_val.txt", "rec_gt_test.txt") if (src / n).is_file()), None)
        if val_name:
            val = _read_rec_gt(src / val_name, bases)
            res.notes.append(f"val.txt from {val_name}")
        else:
            train, val = _split(train, val_fraction, seed)
            res.notes.append(f"no rec_gt_val.txt/rec_gt_test.txt: {len(val)} train lines split off as val")
    elif (src / "rec_gt.txt").is_file():
        train, val = _split(_read_rec_gt(src / "rec_gt.txt", bases), val_fraction, seed)
        res.notes.append(f"rec_gt.txt split into {len(train)} train / {len(val)} val (seed {seed})")
    else:
        raise DatasetError(f"{src}: no rec_gt_train.txt or rec_gt.txt (PPOCRLabel recognition output) found")
    pool = _list_images(Path(unlabeled_dir)) if unlabeled_dir else []
    if not pool:
        res.notes.append("no unlabelled images given: train_unlabeled.txt is empty (supervised only)")
    charset = Charset.from_texts([t for _, t in train + val], use_space=use_space)
    _prepare_out(out, ["train.txt", "val.txt", "train_unlabeled.txt", "dict.txt"])
    used = _existing(out)
    for name, rows in (("train.txt", train), ("val.txt", val)):
        lines = [f"{_copy(p, out, _unique_rel('crops', p, used))}\t{t}" for p, t in rows]
        (out / name).write_text("".join(x + "\n" for x in lines), encoding="utf-8")
        res.counts[name.removesuffix(".txt")] = len(lines)
    rels = [_copy(p, out, _unique_rel("unlabeled", p, used)) for p in pool]
    (out / "train_unlabeled.txt").write_text("".join(r + "\n" for r in rels), encoding="utf-8")
    charset.write(out / "dict.txt")
    res.counts.update(unlabeled=len(rels), dict=len(charset.chars))
    return res


def _read_det_source(path: Path) -> list[tuple[Path, list[dict]]]:
    """Read a source ``Label.txt``: image located as PPOCRLabel or PaddleOCR would, regions validated."""
    bases = [path.parent.parent, path.parent]
    rows = []
    for n, line in read_text_lines(path):
        where = f"{path}:{n}"
        rel, payload = split_det_line(line, where)
        polys, texts, ignore = parse_det_regions(payload, where)
        regions = [{"transcription": t, "points": p.tolist(), **({"difficult": True} if ig and t != "###" else {})}
                   for p, t, ig in zip(polys, texts, ignore, strict=True)]
        rows.append((find_source_image(rel, bases, where), regions))
    if not rows:
        raise DatasetError(f"{path}: no labelled lines")
    return rows


def import_det_labels(label_file: str | Path, out: str | Path, val_file: str | Path | None = None,
                      val_fraction: float = 0.1, seed: int = 0, folder: str = "pages") -> ImportResult:
    """Import a PaddleOCR/PPOCRLabel detection ``Label.txt`` into ``out`` as ``det_train.txt``/``det_val.txt``.

    ``out`` may be an existing recognition dataset (detection is added beside it). Without ``val_file``
    the lines are split by ``val_fraction`` (seeded). Images are copied to ``images/<folder>/``.
    """
    out = Path(out)
    train = _read_det_source(Path(label_file))
    if val_file is not None:
        val = _read_det_source(Path(val_file))
    else:
        train, val = _split(train, val_fraction, seed)
    _prepare_out(out, ["det_train.txt", "det_val.txt"])
    res, used = ImportResult(out), _existing(out)
    for name, rows in (("det_train.txt", train), ("det_val.txt", val)):
        lines = [f"{_copy(p, out, _unique_rel(folder, p, used))}\t{json.dumps(regs, ensure_ascii=False)}"
                 for p, regs in rows]
        (out / name).write_text("".join(x + "\n" for x in lines), encoding="utf-8")
        res.counts[name.removesuffix(".txt")] = len(lines)
        res.counts[name.removesuffix(".txt") + "_regions"] = sum(len(r) for _, r in rows)
    return res
