"""Pseudo-labels: predict the unlabelled pool, filter by confidence, write/read the per-round files.

Per round the recipe writes three files, named ``pseudo_round{k}``:

* ``.tsv`` — every prediction, ``relative/path<TAB>text<TAB>confidence<TAB>angle``, best first, for inspection
  (angle 180: the line was read turned upside down);
* ``.labels.txt`` — the kept ones in ``train.txt`` format (``path<TAB>text``), importable as labels;
* ``.json`` — round, threshold, top fraction, model, counts.
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from semiocr.core.data.images import read_image
from semiocr.core.data.labels import DatasetError, Sample, read_text_lines
from semiocr.core.eval.recognition import rec_metrics
from semiocr.core.events import EventSink, WorkProgress, check_stop, ignore, never
from semiocr.core.inference.recognizer import Recognizer
from semiocr.runtime.charset import Charset


@dataclass(frozen=True)
class PseudoLabel:
    """A model's reading of one unlabelled image."""

    path: Path
    text: str
    confidence: float
    rotated: bool = False  # read from the image turned by 180° (more confident than upright)


def predict(model: nn.Module, paths: Sequence[Path], charset: Charset, batch_size: int = 64,
            device: str | torch.device = "cpu", max_width: int | None = None, rotate_180: bool = False,
            sink: EventSink = ignore, should_stop: Callable[[], bool] = never) -> list[PseudoLabel]:
    """Read every image with ``model`` (logits ``[N,T,C]``) through the shared ``Recognizer`` (one
    preprocessing, batched by similar width, greedy CTC decoding); input order kept.

    With ``rotate_180`` each image is also read turned by 180° and the more confident reading is kept (the job
    of PP-OCR's 0/180° line classifier): a model that reads upright text then labels upside-down lines, and
    training on the original image with that label teaches it to read them as they come. Progress goes to
    ``sink`` as ``WorkProgress`` events; ``should_stop`` is polled after every batch (``StopRequested``).
    """
    rec = Recognizer(model, charset, torch.device(device), batch_size, max_width, rotate_180=rotate_180)
    passes = 2 if rotate_180 else 1
    done = 0

    def on_batch(n: int) -> None:
        nonlocal done
        done += n
        check_stop(should_stop)
        sink(WorkProgress(what="pseudo-label", done=done // passes, total=len(paths)))

    rec.on_batch = on_batch
    out: list[PseudoLabel] = []
    chunk = 1024  # bounded memory for large pools; batching by width happens inside each chunk
    for s in range(0, len(paths), chunk):
        part = [Path(p) for p in paths[s:s + chunk]]
        decoded = rec.predict([read_image(p) for p in part])
        out += [PseudoLabel(p, d.text, d.confidence, d.angle == 180) for p, d in zip(part, decoded, strict=True)]
    return out


def rotation_helps(model: nn.Module, samples: Sequence[Sample], charset: Charset, batch_size: int = 64,
                   device: str | torch.device = "cpu", max_width: int | None = None,
                   should_stop: Callable[[], bool] = never) -> tuple[bool, dict[str, float]]:
    """Whether reading lines turned by 180° as well (keeping the more confident reading) makes ``model`` read the
    labelled ``samples`` more exactly than upright alone; returns the answer and both exact-match rates."""
    rec = Recognizer(model, charset, torch.device(device), batch_size, max_width)
    rec.on_batch = lambda n: check_stop(should_stop)
    upright, both = rec.predict_both_ways([read_image(s.path, s.source) for s in samples])
    truth = [s.text or "" for s in samples]
    accs = {k: rec_metrics([r.text for r in reads], truth)["acc"] for k, reads in (("upright", upright),
                                                                                  ("both", both))}
    return accs["both"] > accs["upright"], accs


def select(labels: Sequence[PseudoLabel], threshold: float | None = None, top_fraction: float | None = None,
           min_length: int = 1, rare_char_share: float = 0.0) -> list[PseudoLabel]:
    """Keep labels with confidence ≥ ``threshold`` and text length ≥ ``min_length``, then at most the
    ``top_fraction`` most confident of the whole pool. Result is sorted by confidence, best first.

    With ``rare_char_share`` > 0 and a top fraction, lines that write a character found in fewer than that share
    of the pool's readings are also ranked within the group of their rarest such character, and the top fraction
    of each group is kept as well (class-balanced selection, as CBST does per class): a character the model has
    seen in few labelled lines is read with lower confidence, so a pool-wide ranking would never keep it and
    the next model would unlearn it.
    """
    ranked = sorted(labels, key=lambda p: -p.confidence)
    kept = [p for p in ranked if len(p.text) >= min_length and (threshold is None or p.confidence >= threshold)]
    if top_fraction is None:
        return kept
    if not 0.0 < top_fraction <= 1.0:
        raise ValueError(f"top_fraction must be in (0, 1], got {top_fraction}")
    top = kept[:math.ceil(top_fraction * len(labels))]
    if rare_char_share <= 0:
        return top
    counts = Counter(c for p in labels for c in set(p.text))
    limit = rare_char_share * len(labels)
    groups: dict[str, list[PseudoLabel]] = defaultdict(list)
    for p in ranked:
        rare = [c for c in set(p.text) if counts[c] < limit]
        if rare:
            groups[min(rare, key=lambda c: (counts[c], c))].append(p)
    chosen, eligible = {id(p) for p in top}, {id(p) for p in kept}
    for group in groups.values():
        chosen.update(id(p) for p in group[:math.ceil(top_fraction * len(group))] if id(p) in eligible)
    return [p for p in kept if id(p) in chosen]


def _rel(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def write_pseudo_labels(stem: Path, labels: Sequence[PseudoLabel], kept: Sequence[PseudoLabel], dataset_root: Path,
                        meta: dict[str, Any]) -> dict[str, Path]:
    """Write ``stem.tsv`` (all), ``stem.labels.txt`` (kept, train.txt format) and ``stem.json`` (meta)."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    for p in labels:
        if "\t" in p.text or "\n" in p.text:
            raise ValueError(f"pseudo-label for {p.path} contains a TAB or newline: {p.text!r}")
    files = {"tsv": stem.with_suffix(".tsv"), "labels": stem.with_suffix(".labels.txt"),
             "meta": stem.with_suffix(".json")}
    ranked = sorted(labels, key=lambda p: -p.confidence)
    files["tsv"].write_text("".join(f"{_rel(p.path, dataset_root)}\t{p.text}\t{p.confidence:.6f}\t"
                                    f"{180 if p.rotated else 0}\n" for p in ranked), encoding="utf-8")
    files["labels"].write_text("".join(f"{_rel(p.path, dataset_root)}\t{p.text}\n" for p in kept), encoding="utf-8")
    confs = [p.confidence for p in labels]
    full_meta = {**meta, "dataset_root": str(dataset_root), "predicted": len(labels), "kept": len(kept),
                 "read_rotated": sum(p.rotated for p in labels), "kept_rotated": sum(p.rotated for p in kept),
                 "mean_confidence": float(np.mean(confs)) if confs else 0.0,
                 "files": {k: v.name for k, v in files.items()}}
    files["meta"].write_text(json.dumps(full_meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return files


def read_pseudo_labels(path: Path, dataset_root: Path) -> list[PseudoLabel]:
    """Read a ``.tsv`` pseudo-label file (``path<TAB>text<TAB>confidence[<TAB>angle]``); paths resolve under the
    dataset."""
    out = []
    for lineno, line in read_text_lines(path):
        parts = line.split("\t")
        if len(parts) not in (3, 4):
            raise DatasetError(f"{path}:{lineno}: expected path<TAB>text<TAB>confidence<TAB>angle, got {len(parts)} "
                               "fields")
        try:
            conf = float(parts[2])
        except ValueError:
            raise DatasetError(f"{path}:{lineno}: confidence {parts[2]!r} is not a number") from None
        angle = parts[3] if len(parts) == 4 else "0"
        if angle not in ("0", "180"):
            raise DatasetError(f"{path}:{lineno}: angle must be 0 or 180, got {angle!r}")
        out.append(PseudoLabel(dataset_root / parts[0], parts[1], conf, angle == "180"))
    return out


def precision(labels: Sequence[PseudoLabel], truth: dict[str, str], dataset_root: Path) -> dict[str, float]:
    """Exact-match precision of ``labels`` against ``truth`` (relative path → text); for benchmarks only."""
    hits = [truth.get(_rel(p.path, dataset_root)) == p.text for p in labels]
    return {"n": float(len(hits)), "precision": float(np.mean(hits)) if hits else 0.0}
