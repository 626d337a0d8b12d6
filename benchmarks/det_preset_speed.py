"""Size and CPU forward time of the detector presets (random weights: timing needs none).

Usage: PYTHONPATH=src python benchmarks/det_preset_speed.py [--size 640] [--runs 3] [--threads 2]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from semiocr.core.models import build_model

PRESETS = ("PP-OCRv4-mobile-det", "PP-OCRv4-server-det")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=640, help="square page side (multiple of 32)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    x = torch.rand(1, 3, args.size, args.size)
    for name in PRESETS:
        model = build_model(name).eval()
        params = sum(p.numel() for p in model.parameters()) / 1e6
        with torch.inference_mode():
            model(x)  # warm-up
            times = []
            for _ in range(args.runs):
                t0 = time.perf_counter()
                model(x)
                times.append((time.perf_counter() - t0) * 1000)
        print(f"{name}: {params:.2f} M parameters, median {statistics.median(times):.0f} ms per "
              f"{args.size}x{args.size} page ({args.threads} threads)")


if __name__ == "__main__":
    main()
