"""Does the recipe's supervised warm-up hold on few labels? Runs only the large model's warm-up stage of an LMSSL
config (``Recipe.large_warmup``, as a joint run runs it) and reports validation at the start and at every evaluation,
gradient norms before clipping and the loss, step by step.

    PYTHONPATH=src python benchmarks/warmup_stability.py --data /tmp/wire_100 --out /tmp/ws/v6 \
        -o teacher.warmup.learning_rate=3e-4

``-o`` overrides keys of ``configs/lmssl_cpu.yaml`` (as the CLI); ``teacher.model.arch=PP-OCRv4-mobile-rec -o
teacher.model.pretrained=PP-OCRv4-mobile-rec`` measures the small model's start.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import torch

from semiocr.core.config import load_config
from semiocr.core.events import Event, Metrics, Progress
from semiocr.core.ssl.config import LmsslConfig
from semiocr.core.ssl.recipe import Recipe

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "lmssl_cpu.yaml"


def run_warmup(data: Path, out: Path, overrides: list[str]) -> dict[str, Any]:
    """Run the warm-up stage; returns the start metrics, the evaluations and the per-step log."""
    cfg = load_config(LmsslConfig, CONFIG, [f"data.root={data}", f"output_dir={out}", "mode=large", *overrides])
    steps: list[dict[str, float]] = []
    evals: list[dict[str, float]] = []

    def sink(event: Event) -> None:
        if isinstance(event, Progress):
            steps.append({"step": event.step, "lr": event.lr, "loss": event.loss,
                          "grad_norm": event.values.get("grad_norm", float("nan"))})
        elif isinstance(event, Metrics):
            evals.append({"epoch": event.epoch, "acc": event.values["acc"], "norm_edit": event.values["norm_edit"]})

    res = Recipe(cfg, sink).large_warmup()
    return {"data": str(data), "overrides": overrides, "start": res.start, "trained": res.trained,
            "improved": res.improved(cfg.selection_metric), "evals": evals, "steps": steps}


def row(r: dict[str, Any]) -> str:
    """One Markdown table row: overrides, val exact / 1 − NED at the start, best trained and its epoch, the
    validation curve, the largest gradient norm of the first 5 steps and of the run, first and last loss."""
    g = [s["grad_norm"] for s in r["steps"]]
    curve = " ".join(f"{100 * e['acc']:.0f}" for e in r["evals"])
    t = r["trained"] or {"acc": float("nan"), "norm_edit": float("nan")}
    return (f"| {' '.join(r['overrides']) or '(shipped)'} | {100 * r['start']['acc']:.1f} / "
            f"{100 * r['start']['norm_edit']:.1f} | {100 * t['acc']:.1f} / {100 * t['norm_edit']:.1f} "
            f"(epoch {t.get('epoch')}) | {curve} | {max(g[:5]):.3g} / {max(g):.3g} | "
            f"{r['steps'][0]['loss']:.2f} → {r['steps'][-1]['loss']:.2f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("-o", "--override", action="append", default=[])
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    res = run_warmup(args.data, args.out, args.override)
    (args.out / "warmup_stability.json").write_text(json.dumps(res, indent=2) + "\n")
    print("| overrides | val exact / 1−NED % at start | best trained | val exact per evaluation | "
          "max grad norm, steps 1–5 / all | loss first → last |")
    print(row(res))


if __name__ == "__main__":
    main()
