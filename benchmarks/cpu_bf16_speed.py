"""CPU time of the distillation step in float32 and in bfloat16 autocast (``cpu_bf16``), and with
``--channels-last`` also with the networks in NHWC memory order (``channels_last``), measured in one run.

The distillation stage of the CPU recipe spends its time in two things per batch: a training step of the small
model (PP-OCRv4 mobile: forward, CTC-like loss, backward, AdamW) and a forward pass of the large teacher
(PP-OCRv6 small) without gradients. Both are timed on random 48×W lines, the variants interleaved so that drift
of the machine hits all alike; the median seconds per batch and the speed-up over NCHW float32 are printed.

    PYTHONPATH=src python benchmarks/cpu_bf16_speed.py --threads 2 --batch 32 --width 320 --channels-last
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


def _models(args: argparse.Namespace, fmt: torch.memory_format
            ) -> tuple[Callable[[], None], Callable[[], None], torch.nn.Module, torch.Tensor]:
    """(student training step, teacher forward, teacher, batch): one random batch, networks in memory format
    ``fmt``."""
    torch.manual_seed(0)
    student = build_model(args.student, num_classes=100).train().to(memory_format=fmt)
    teacher = build_model(args.teacher, num_classes=100).eval().to(memory_format=fmt)
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

    return train_step, teacher_forward, teacher, x


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--student", default="PP-OCRv4-mobile-rec")
    ap.add_argument("--teacher", default="PP-OCRv6-small-rec")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--width", type=int, default=320)
    ap.add_argument("--rounds", type=int, default=4, help="timed batches per precision and model (after one warm)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--channels-last", action="store_true",
                    help="also time the networks in NHWC memory order (LoopConfig.channels_last)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    layouts = {"NCHW": torch.contiguous_format, **({"NHWC": torch.channels_last} if args.channels_last else {})}
    fns = {name: _models(args, fmt) for name, fmt in layouts.items()}
    variants = [(layout, bf16) for layout in layouts for bf16 in (False, True)]
    parts = ("student train step", "teacher forward")
    times: dict[tuple[str, str, bool], list[float]] = {}
    for i in range(args.rounds + 1):
        for layout, bf16 in variants:  # interleaved, so that drift of the machine hits every variant alike
            for name, fn in zip(parts, fns[layout][:2], strict=True):
                seconds = _timer(fn, bf16)
                if i:  # the first round warms caches and oneDNN's kernels
                    times.setdefault((name, layout, bf16), []).append(seconds)
    med = {k: statistics.median(v) for k, v in times.items()}
    base = ("NCHW", False)
    heads = [f"{layout} {'bfloat16' if bf16 else 'float32'}" for layout, bf16 in variants]
    print(f"batch {args.batch} x 48x{args.width}, {args.threads} thread(s), median s/batch of {args.rounds} batches "
          "(× = speed-up over NCHW float32):")
    print("| part | " + " | ".join(heads) + " |")
    print("|---" * (len(heads) + 1) + "|")
    rows = {name: [med[(name, *v)] for v in variants] for name in parts}
    rows["distillation step (both)"] = [sum(col) for col in zip(*rows.values(), strict=True)]
    for name, vals in rows.items():
        ref = vals[variants.index(base)]
        print(f"| {name} | " + " | ".join(f"{v:.2f} ({ref / v:.2f}×)" for v in vals) + " |")
    _, _, teacher, x = fns["NCHW"]
    with torch.no_grad():
        p32 = teacher(x).float().softmax(-1)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            p16 = teacher(x).float().softmax(-1)
    print(f"teacher max |Δprob| bfloat16 vs float32 (random weights and input): {(p32 - p16).abs().max():.4f}")


if __name__ == "__main__":
    main()
