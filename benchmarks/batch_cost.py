"""What a recognition training batch costs besides the network: loading and augmenting it, and padding it.

Reads the labelled lines and the unlabelled pool of a dataset (line sizes from the image headers), then prints
(1) the seconds to read, augment and collate one batch on one core, per augmentation policy, and (2) the mean
width the batches of one epoch of ``MixedBatchSampler`` are padded to, as sampled and with width buckets
(``data.bucket_by_width``), against the mean line width: the network's work grows with the padded width.

    PYTHONPATH=src python benchmarks/batch_cost.py --dataset ../shared/data/wire_markers
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from semiocr.core.augment import get_augment
from semiocr.core.data.images import image_size
from semiocr.core.data.labels import read_labelled, read_unlabelled
from semiocr.core.ssl.sampler import MixedBatchSampler
from semiocr.core.training.rec_data import RecCollate, RecDataset
from semiocr.runtime.charset import Charset
from semiocr.runtime.rec_preprocess import REC_HEIGHT, REC_MIN_WIDTH


def load_seconds(dataset: RecDataset, collate: RecCollate, batch: int, batches: int) -> float:
    """Median seconds to read, augment and collate one batch of ``dataset`` (in order, epoch 0)."""
    times = []
    for b in range(batches):
        t0 = time.perf_counter()
        collate([dataset[(j % len(dataset), 0)] for j in range(b * batch, (b + 1) * batch)])
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def padded_widths(ratios: list[float], n_labelled: int, batch: int, share: float, bucket: bool,
                  max_width: int) -> list[int]:
    """Width of every batch of one epoch: its widest line at height 48, at least PP-OCR's 320, at most
    ``max_width`` (``rec_preprocess.batch_width``)."""
    sampler = MixedBatchSampler(n_labelled, len(ratios) - n_labelled, batch, share, seed=0,
                                widths=ratios if bucket else None)
    return [min(max_width, int(REC_HEIGHT * max([ratios[i] for i in idx] + [REC_MIN_WIDTH / REC_HEIGHT])))
            for idx in sampler]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dataset", type=Path, required=True)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--labelled-share", type=float, default=0.3)
    ap.add_argument("--max-width", type=int, default=960)
    ap.add_argument("--batches", type=int, default=10, help="batches timed per policy")
    args = ap.parse_args()
    torch.set_num_threads(1)
    root = args.dataset.resolve()
    labelled, pool = read_labelled(root, "train.txt"), read_unlabelled(root)
    charset = Charset.from_file(root / "dict.txt")
    collate = RecCollate(charset, max_width=args.max_width)
    print(f"{root.name}: {len(labelled)} labelled lines, {len(pool)} in the pool, batches of {args.batch}")
    for policy in ("weak", "strong"):
        ds = RecDataset(labelled, get_augment(policy), seed=0)
        print(f"read + {policy} augmentation + collate: {load_seconds(ds, collate, args.batch, args.batches):.3f} "
              "s/batch (1 core)")
    ratios = [w / max(h, 1) for w, h in (image_size(s.path) for s in [*labelled, *pool])]
    line = np.minimum(args.max_width, REC_HEIGHT * np.array(ratios))
    print(f"line width at height {REC_HEIGHT}: mean {line.mean():.0f} px, "
          f"{100 * (line > REC_MIN_WIDTH).mean():.1f} % wider than {REC_MIN_WIDTH}")
    for bucket in (False, True):
        widths = padded_widths(ratios, len(labelled), args.batch, args.labelled_share, bucket, args.max_width)
        print(f"batches {'in width buckets' if bucket else 'as sampled'}: padded to {np.mean(widths):.0f} px on "
              f"average ({len(widths)} batches)")


if __name__ == "__main__":
    main()
