"""CPU time of the distillation step in float32 and in bfloat16 autocast (``cpu_bf16``), measured in one run.

The distillation stage of the CPU recipe spends its time in two things per batch: a training step of the small
model (PP-OCRv4 mobile: forward, CTC-like loss, backward, AdamW) and a forward pass of the large teacher
(PP-OCRv6 small) without gradients. Both are timed on random 48×W lines, alternating float32 and bfloat16 rounds
so that drift of the machine hits both alike; the median seconds per batch and the ratio are printed.

    PYTHONPATH=src python benchmarks/cpu_bf16_speed.py --threads 2 --batch 32 --width 320
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch

from semiocr.core.models.registry import build_model


def _timer(fn: Callable[[], None], bf16: bool) -> float:
    t0 = time.perf_counter()
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        fn()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--student", default="PP-OCRv4-mobile-rec")
    ap.add_argument("--teacher", default="PP-OCRv6-small-rec")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--width", type=int, default=320)
    ap.add_argument("--rounds", type=int, default=4, help="timed batches per precision and model (after one warm)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    student = build_model(args.student, num_classes=100).train()
    teacher = build_model(args.teacher, num_classes=100).eval()
    opt = torch.optim.AdamW(student.parameters(), 1e-4)
    x = torch.randn(args.batch, 3, 48, args.width)

    def train_step() -> None:
        loss = student(x).float().log_softmax(-1).logsumexp(-1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()

    def teacher_forward() -> None:
        with torch.no_grad():
            teacher(x)

    times: dict[tuple[str, bool], list[float]] = {}
    for i in range(args.rounds + 1):
        for bf16 in (False, True):
            for name, fn in (("student train step", train_step), ("teacher forward", teacher_forward)):
                seconds = _timer(fn, bf16)
                if i:  # the first round warms caches and oneDNN's kernels
                    times.setdefault((name, bf16), []).append(seconds)
    with torch.no_grad():
        p32 = teacher(x).float().softmax(-1)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            p16 = teacher(x).float().softmax(-1)
    print(f"batch {args.batch} x 48x{args.width}, {args.threads} thread(s), median of {args.rounds} batches:")
    print("| part | float32 s/batch | bfloat16 s/batch | float32 / bfloat16 |")
    print("|---|---|---|---|")
    total = {False: 0.0, True: 0.0}
    for name in ("student train step", "teacher forward"):
        f32, b16 = (statistics.median(times[(name, b)]) for b in (False, True))
        total[False] += f32
        total[True] += b16
        print(f"| {name} | {f32:.2f} | {b16:.2f} | {f32 / b16:.2f} |")
    print(f"| distillation step (both) | {total[False]:.2f} | {total[True]:.2f} | {total[False] / total[True]:.2f} |")
    print(f"teacher max |Δprob| bfloat16 vs float32 (random weights and input): {(p32 - p16).abs().max():.4f}")


if __name__ == "__main__":
    main()
