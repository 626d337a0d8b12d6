"""Peak memory (RSS) and time of PP-OCRv4-mobile-rec training steps on the CPU at a given batch and line width.

    PYTHONPATH=src python benchmarks/rec_train_memory.py --batch 32 --width 320
"""

from __future__ import annotations

import argparse
import resource
import time

import torch

from semiocr.core.models.registry import build_model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--width", type=int, default=320)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model = build_model("PP-OCRv4-mobile-rec", num_classes=100).train()
    opt = torch.optim.AdamW(model.parameters(), 1e-4)
    x = torch.randn(args.batch, 3, 48, args.width)
    t0 = time.perf_counter()
    for _ in range(args.steps):
        loss = model(x).logsumexp(-1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    seconds = (time.perf_counter() - t0) / args.steps
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # ru_maxrss is in KiB on Linux
    print(f"batch {args.batch} x 48x{args.width}, {args.threads} thread(s): peak RSS {peak_gb:.2f} GB, "
          f"{seconds:.1f} s/step")


if __name__ == "__main__":
    main()
