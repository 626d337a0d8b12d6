"""Rerun the small model's side of a finished joint run with changed settings, and test it.

Tuning the distillation should not retrain the large model: this takes a finished joint run directory (its
``config.yaml``, ``large_best.pt`` and small warm-up stages), runs the recipe in ``small`` mode with the run's
config plus ``-o`` overrides and the run's large model as the teacher, in a new directory that reuses the
finished small warm-ups, then reads ``test.txt`` with the distillation stage's and the final small weights (upright
and both ways, as ``ssl_gain.py``). The final pseudo-labels are made again by the same teacher.

    MALLOC_ARENA_MAX=2 PYTHONPATH=src python benchmarks/distill_rerun.py \\
        --run benchmarks/out/curve_wire_all/runs/wire_markers_307/joint --out benchmarks/out/distill_e6 \\
        --threads 2 -o student.optim.epochs=6 -o student.optim.patience=2
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from ssl_gain import _test_all

from semiocr.core.config import load_config
from semiocr.core.ssl.config import LmsslConfig
from semiocr.core.ssl.recipe import run_lmssl
from semiocr.core.ssl.stage import copy_stage, finished_stage
from semiocr.core.weights.checkpoint import CHECKPOINT_DIR


def reuse_small_warmups(run: Path, out: Path) -> list[str]:
    """Reuse the finished small warm-up stages of ``run`` in ``out`` (records and best weights); their names."""
    finished = [src for src in sorted((run / "small").glob("warmup*")) if finished_stage(src) is not None]
    for src in finished:
        copy_stage(src, out / "small" / src.name)
    return [src.name for src in finished]


def rerun(run: Path, out: Path, overrides: list[str]) -> dict:
    """The small side of ``run`` again in ``out`` with ``overrides``; test metrics and minutes."""
    if not (run / "large_best.pt").is_file():
        raise SystemExit(f"{run}: no large_best.pt (not a finished joint run)")
    teacher = f"student.teacher_weights={run / 'large_best.pt'}"
    cfg = load_config(LmsslConfig, run / "config.yaml", [*overrides, teacher], mode="small", output_dir=str(out))
    reused = reuse_small_warmups(run, out)
    t0 = time.time()
    run_lmssl(cfg)
    minutes = round((time.time() - t0) / 60, 1)
    root = Path(cfg.data.root)
    models = {"small distill stage": out / "small" / "distill" / CHECKPOINT_DIR / "best.pt",
              "small distilled (final)": out / "small_best.pt"}
    upright, both = _test_all(models, cfg, root)
    res = {"run": str(run), "overrides": overrides, "reused": reused, "minutes": minutes,
           "test": upright, "test_both_ways": both}
    (out / "rerun.json").write_text(json.dumps(res, indent=2) + "\n")
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", type=Path, required=True, help="a finished joint run directory")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("-o", "--override", action="append", default=[], help="config key.sub=value (as the CLI)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    res = rerun(args.run, args.out, args.override)
    print(f"{res['minutes']} min (small side), reused {', '.join(res['reused']) or 'nothing'}")
    print("| model | test acc % | test 1−NED % | test CER % | test acc % read both ways |\n|---|---|---|---|---|")
    for k, v in res["test"].items():
        print(f"| {k} | {100 * v['acc']:.1f} | {100 * v['norm_edit']:.1f} | {100 * v['cer']:.1f} | "
              f"{100 * res['test_both_ways'][k]['acc']:.1f} |")


if __name__ == "__main__":
    main()
