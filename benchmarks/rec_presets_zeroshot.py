"""Zero-shot accuracy and CPU speed of every pretrained recognition preset on the dev test sets, in one run.

Each preset is read through our PyTorch port (``Recognizer.from_weights``: the same path as ``semiocr eval rec``),
with its own pretrained dictionary; the labels are compared as they are. Speed: milliseconds per line over the
whole test split (batches of 6 sorted by width, as RapidOCR batches) and for one 48×320 line, on ``--threads``.

    PYTHONPATH=src python benchmarks/rec_presets_zeroshot.py --threads 1
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from semiocr.core.data.images import read_image
from semiocr.core.data.labels import read_labelled
from semiocr.core.eval.recognition import rec_metrics
from semiocr.core.inference.recognizer import Recognizer

PRESETS = ("PP-OCRv4-mobile-rec", "PP-OCRv6-small-rec", "PP-OCRv6-tiny-rec")
DATASETS = ("wire_markers", "poilus_handwriting", "captcha")


def line_ms(rec: Recognizer, repeats: int = 30) -> float:
    """Median milliseconds of one forward pass on a single 48×320 line (after 3 warm-up passes)."""
    x = np.random.default_rng(0).random((1, 3, 48, 320), dtype=np.float32)
    times = []
    for i in range(repeats + 3):
        t0 = time.perf_counter()
        rec.probs_of_batch(x)
        if i >= 3:
            times.append(time.perf_counter() - t0)
    return 1000 * float(np.median(times))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-root", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    ap.add_argument("--datasets", nargs="+", default=list(DATASETS))
    ap.add_argument("--presets", nargs="+", default=list(PRESETS))
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    splits = {}
    for name in args.datasets:
        samples = read_labelled(args.data_root / name, "test.txt")
        splits[name] = ([read_image(s.path, s.source) for s in samples], [s.text or "" for s in samples])
    print("| preset | params | " + " | ".join(f"{d} exact % / CER % / 1−NED % / ms per line" for d in splits)
          + " | ms per 48×320 line |")
    print("|---|---|" + "---|" * len(splits) + "---|")
    for preset in args.presets:
        rec = Recognizer.from_weights(preset, device="cpu", batch_size=6)
        params = sum(p.numel() for p in rec.model.parameters()) / 1e6
        cells = []
        for images, truth in splits.values():
            t0 = time.perf_counter()
            preds = [d.text for d in rec.predict(images)]
            ms = 1000 * (time.perf_counter() - t0) / len(images)
            m = rec_metrics(preds, truth)
            cells.append(f"{100 * m['acc']:.1f} / {100 * m['cer']:.1f} / {100 * m['norm_edit']:.1f} / {ms:.1f}")
        print(f"| {preset} | {params:.2f} M | " + " | ".join(cells) + f" | {line_ms(rec):.1f} |", flush=True)


if __name__ == "__main__":
    main()
