"""Speed and memory of the shipped CPU distillation step under different memory allocators, measured in one run.

The distillation step of ``configs/lmssl_cpu.yaml`` (PP-OCRv4 mobile trained, PP-OCRv6 small forward without
gradients, bfloat16 autocast, NHWC) allocates activations of tens to hundreds of MB per layer. glibc's malloc
serves blocks above its mmap threshold (at most 32 MB when it adapts) with fresh ``mmap`` calls and returns them
on free, so every step faults its activations in again page by page: the time shows up as system CPU time. A
caching allocator (tcmalloc, jemalloc) or a raised glibc threshold keeps the pages. The allocator is chosen when
a process starts (``LD_PRELOAD`` or glibc's environment variables), so each variant runs in its own child
process, one after the other, with the same seed; the table gives the median seconds per batch, the samples per
second, the system CPU seconds per batch and the peak resident memory of each child.

    PYTHONPATH=src python benchmarks/cpu_allocator.py --threads 2 --batch 32 --width 960
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

from semiocr.core.allocator import CACHING_ALLOCATORS, find_library

#: glibc with its mmap threshold raised to 16 GiB: every block from the heap, none from a fresh mmap
GLIBC_NO_MMAP = {"MALLOC_MMAP_THRESHOLD_": str(16 << 30)}


def variants() -> dict[str, dict[str, str]]:
    """Allocator name → environment additions for the child; preloads missing on this machine are left out."""
    out: dict[str, dict[str, str]] = {"glibc": {}, "glibc-no-mmap": GLIBC_NO_MMAP}
    for name, lib in CACHING_ALLOCATORS.items():
        path = find_library(lib)
        if path:
            out[name] = {"LD_PRELOAD": str(path)}
    return out


def child(args: argparse.Namespace) -> None:
    """Time ``args.steps`` distillation steps (after one warm step) and print one JSON line."""
    import torch

    from semiocr.core.models.registry import build_model

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    fmt = torch.channels_last
    student = build_model(args.student, num_classes=100).train().to(memory_format=fmt)
    teacher = build_model(args.teacher, num_classes=100).eval().to(memory_format=fmt)
    opt = torch.optim.AdamW(student.parameters(), 1e-4)
    x = torch.randn(args.batch, 3, 48, args.width).contiguous(memory_format=fmt)
    seconds, sys_seconds = [], []
    for i in range(args.steps + 1):
        t0, s0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF).ru_stime
        with torch.autocast("cpu", dtype=torch.bfloat16):
            with torch.no_grad():
                target = teacher(x).float().softmax(-1)
            logits = student(x).float()
        loss = -(target * logits.log_softmax(-1)).sum(-1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if i:  # the first step warms oneDNN's kernels and the allocator
            seconds.append(time.perf_counter() - t0)
            sys_seconds.append(resource.getrusage(resource.RUSAGE_SELF).ru_stime - s0)
    print(json.dumps({"s_per_batch": statistics.median(seconds), "sys_per_batch": statistics.median(sys_seconds),
                      "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--student", default="PP-OCRv4-mobile-rec")
    ap.add_argument("--teacher", default="PP-OCRv6-small-rec")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--width", type=int, default=960)
    ap.add_argument("--steps", type=int, default=4, help="timed batches per allocator (after one warm)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--allocators", nargs="+", metavar="NAME",
                    help="run only these (default: every one available): " + ", ".join(variants()))
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args)
        return
    chosen = {k: v for k, v in variants().items() if not args.allocators or k in args.allocators}
    if args.allocators and len(chosen) != len(args.allocators):
        sys.exit(f"unknown or missing allocator among {args.allocators}; available: {', '.join(variants())}")
    rows = []
    for name, extra in chosen.items():
        cmd = [sys.executable, __file__, "--child", *sys.argv[1:]]
        proc = subprocess.run(cmd, env={**os.environ, **extra}, capture_output=True, text=True, check=False)
        if proc.returncode:
            sys.exit(f"{name}: child failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
        rows.append((name, json.loads(proc.stdout.strip().splitlines()[-1])))
    base = rows[0][1]["s_per_batch"]  # the first chosen one
    print(f"distillation step, batch {args.batch} x 48x{args.width}, bfloat16 autocast, NHWC, {args.threads} "
          f"thread(s), median of {args.steps} batches:")
    print(f"| allocator | s/batch | samples/s | × {rows[0][0]} | system CPU s/batch | peak RSS GB |")
    print("|---|---|---|---|---|---|")
    for name, r in rows:
        s = r["s_per_batch"]
        print(f"| {name} | {s:.2f} | {args.batch / s:.1f} | {base / s:.2f} | {r['sys_per_batch']:.2f} "
              f"| {r['peak_rss_gb']:.1f} |")


if __name__ == "__main__":
    main()
