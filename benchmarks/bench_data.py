"""Data-layer timings: validator on the real datasets (when ../shared/data exists) and synthetic generation.

Usage: ``PYTHONPATH=src python benchmarks/bench_data.py [--data /work/shared/data]``
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from semiocr.core.data.synth import SynthConfig, generate_dataset
from semiocr.core.data.validate import validate_dataset

REAL = ("wire_markers", "poilus_handwriting", "captcha")


def bench_validate(data: Path) -> None:
    for name in REAL:
        root = data / name
        if not root.is_dir():
            print(f"{name}: not found under {data}, skipped")
            continue
        t0 = time.perf_counter()
        rep = validate_dataset(root)
        dt = time.perf_counter() - t0
        n = rep.counts.get("images_checked", 0)
        print(f"validate {name}: ok={rep.ok} errors={len(rep.errors)} warnings={len(rep.warnings)} "
              f"counts={rep.counts} | {n} images in {dt:.2f}s ({n / dt:.0f} img/s)")


def bench_synth() -> None:
    cfg = SynthConfig(n_train=300, n_val=0, n_test=0, n_unlabeled=0, pages_train=20, pages_val=0, seed=0)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        generate_dataset(Path(tmp) / "ds", cfg)
        dt = time.perf_counter() - t0
    print(f"synth: {cfg.n_train} lines + {cfg.pages_train} pages in {dt:.2f}s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "data")
    args = parser.parse_args()
    bench_validate(args.data)
    bench_synth()


if __name__ == "__main__":
    main()
