"""Smaller labelled sets of a dev dataset: ``n`` lines of ``train.txt`` drawn with a fixed seed stay labelled, the
other labelled lines join the unlabelled pool (their labels go to ``unlabeled_truth.txt``, which only the
benchmarks read). ``val.txt``, ``test.txt`` and ``dict.txt`` are unchanged; ``images`` holds hard links to the
original files (copies across file systems): the dataset reader refuses symlinks that leave the dataset.

    PYTHONPATH=src python benchmarks/label_subsets.py ../shared/data/wire_markers /tmp/wire_100 --labels 100
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
from pathlib import Path


def _rows(path: Path) -> list[str]:
    return [r for r in path.read_text(encoding="utf-8").splitlines() if r.strip()]


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def make_subset(src: Path, dst: Path, labels: int, seed: int = 0) -> Path:
    """Write the dataset ``dst``: ``labels`` lines of ``src/train.txt`` (drawn with ``seed``) labelled, the rest
    of them added to the unlabelled pool; returns ``dst``. An existing ``dst`` is replaced."""
    rows = _rows(src / "train.txt")
    if labels > len(rows):
        raise ValueError(f"{src / 'train.txt'}: {len(rows)} labelled lines, {labels} asked for")
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    keep = sorted(order[:labels])
    rest = [rows[i] for i in sorted(order[labels:])]
    if dst.exists():
        shutil.rmtree(dst)
    dst.mkdir(parents=True)
    shutil.copytree(src / "images", dst / "images", copy_function=_link_or_copy)
    for name in ("val.txt", "test.txt", "dict.txt"):
        shutil.copyfile(src / name, dst / name)
    (dst / "train.txt").write_text("".join(rows[i] + "\n" for i in keep), encoding="utf-8")
    pool = [r.split("\t")[0] for r in rest] + _rows(src / "train_unlabeled.txt")
    truth = rest + _rows(src / "unlabeled_truth.txt")
    (dst / "train_unlabeled.txt").write_text("".join(p + "\n" for p in pool), encoding="utf-8")
    (dst / "unlabeled_truth.txt").write_text("".join(t + "\n" for t in truth), encoding="utf-8")
    return dst


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src", type=Path)
    ap.add_argument("dst", type=Path)
    ap.add_argument("--labels", type=int, required=True)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    print(make_subset(args.src, args.dst, args.labels, args.seed))


if __name__ == "__main__":
    main()
