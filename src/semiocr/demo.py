"""``python -m semiocr.demo --out DIR`` (what ``make demo`` runs): the product's main job end to end on generated data.

Each step is a ``(name, function)`` pair in ``STEPS``; a function takes the shared ``DemoContext`` and returns
one line for the console. The steps: generate a synthetic dataset, validate it (report + histograms), register
it in the workspace (``SEMIOCR_HOME``, set to ``DIR/workspace`` unless already set), run a joint LMSSL job on it
(large model semi-supervised → pseudo-labels → distilled small model), evaluate the best small model on the
test split, read one or two generated pages with the imported PP-OCRv4 mobile detector chained with that small
model, and print a summary of every output path and the headline numbers (also ``DIR/summary.md``).

Sizes live in a ``DemoPreset`` (``DEMO``, or ``QUICK`` with ``--quick`` for a smoke run). Every step calls
the same public API as the CLI (``run_lmssl``, ``evaluate_samples``, ``build_pipeline``, ``evaluate_e2e``).
Run again with the same ``--out`` and finished work is reused (the LMSSL run resumes / skips its stages).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from semiocr.core.data.synth import SynthConfig, generate_dataset
from semiocr.core.data.validate import validate_dataset
from semiocr.demo_steps import step_evaluate, step_lmssl, step_ocr, step_summary
from semiocr.platform.datasets import DatasetStore
from semiocr.platform.settings import HOME_ENV

DEMO_DATASET = "demo"
DET_PRESET = "PP-OCRv4-mobile-det"
REC_PRESET = "PP-OCRv4-mobile-rec"


def _optim(epochs: int, batch_size: int = 16, lr: float = 5e-4) -> dict[str, Any]:
    return {"epochs": epochs, "batch_size": batch_size, "lr": lr, "warmup_epochs": 0.5, "eval_every": 1}


def lmssl_preset(warmup_epochs: int, round_epochs: int, distill_epochs: int, rounds: int = 1,
                 lr: float = 5e-4) -> dict[str, Any]:
    """LMSSL run config (``LmsslConfig`` fields, without ``data.root`` / ``output_dir``) sized for a 2-core CPU.

    Both roles start from the imported PP-OCRv4 mobile recognizer (its Latin/digit rows cover the generated
    alphabet; the CTC head is rebuilt for the dataset's dict keeping those rows): the server-size large model
    needs a GPU to train in minutes. The large model fine-tunes on the labelled lines, then learns from its own
    confident pseudo-labels (``rounds``); its final pseudo-labels teach the small one. Frame-level KL is off
    (``kd_weight: 0``): a teacher forward pass per student step would double the CPU time of distillation.
    Batches of 16 (peak memory 6.7 GB; batches of 8 halve it, but a loss spike in a round then blew up the BN
    running variances and the round's val accuracy fell to 0). The EMA (decay 0.95, about the last 20 steps)
    suits rounds of a few dozen steps, which start at full decay. ``lr`` is the AdamW rate of the warm-up and
    distillation (rounds use 0.6 of it); a run of only a few steps needs a small one, as Adam's first steps move
    every imported weight by about ``lr``.
    """
    model = {"arch": REC_PRESET, "pretrained": REC_PRESET}
    return {
        "mode": "joint", "device": "auto", "seed": 0,
        "data": {"use_space": True, "max_width": 640, "eval_batch_size": 32},
        "teacher": {"model": model, "warmup": _optim(warmup_epochs, lr=lr), "rounds": rounds,
                    "round_optim": _optim(round_epochs, lr=round(0.6 * lr, 12)),
                    "pseudo": {"threshold": 0.9, "top_fraction_start": 0.6, "top_fraction_step": 0.2},
                    "labelled_share": 0.33, "ema_decay": 0.95, "ema_warmup_steps": 20},
        "student": {"model": model, "optim": _optim(distill_epochs, lr=lr), "warmup_supervised": False,
                    "pseudo": {"threshold": 0.95, "top_fraction_start": 0.6}, "labelled_share": 0.3,
                    "kd_weight": 0.0},
    }


@dataclass(frozen=True)
class DemoPreset:
    """How big the demo is: the generated dataset, the LMSSL run config and the number of pages read."""

    name: str
    synth: SynthConfig
    lmssl: Mapping[str, Any]
    ocr_pages: int = 2


DEMO = DemoPreset("demo", SynthConfig(n_train=200, n_val=100, n_test=100, n_unlabeled=500, pages_train=10,
                                      pages_val=5, seed=0), lmssl_preset(2, 1, 2))
QUICK = DemoPreset("quick", SynthConfig(n_train=32, n_val=16, n_test=16, n_unlabeled=32, pages_train=1, pages_val=1,
                                        seed=0), lmssl_preset(1, 1, 1, lr=1e-4), ocr_pages=1)
PRESETS = {p.name: p for p in (DEMO, QUICK)}
DEMO_SYNTH = DEMO.synth  # kept for callers of the first demo version


@dataclass
class DemoContext:
    """State shared by the demo steps; steps add what later steps need to ``results``."""

    out: Path
    synth: SynthConfig = DEMO_SYNTH
    preset: DemoPreset = DEMO
    results: dict[str, object] = field(default_factory=dict)

    @property
    def dataset_dir(self) -> Path:
        return self.out / "dataset"

    @property
    def data_root(self) -> Path:
        """The registered copy of the dataset when the register step ran, else the generated folder."""
        ds = self.results.get("dataset")
        return Path(ds.path) if ds is not None else self.dataset_dir

    @property
    def run_dir(self) -> Path:
        return self.out / "lmssl_run"

    def path(self, key: str) -> Path:
        """An output path recorded by an earlier step; a clear error when that step did not run."""
        if key not in self.results:
            raise RuntimeError(f"the demo has no {key!r} yet: run the step that makes it first")
        return Path(self.results[key])  # type: ignore[arg-type]


def step_generate(ctx: DemoContext) -> str:
    """Write the synthetic dataset (kept when a previous demo already wrote it: generation is seeded)."""
    if (ctx.dataset_dir / "train.txt").is_file():
        return f"reusing the generated dataset in {ctx.dataset_dir}"
    generate_dataset(ctx.dataset_dir, ctx.synth)
    s = ctx.synth
    return (f"generated {s.n_train} train / {s.n_val} val / {s.n_test} test / {s.n_unlabeled} unlabelled lines "
            f"and {s.pages_train + s.pages_val} pages in {ctx.dataset_dir}")


def step_validate(ctx: DemoContext) -> str:
    """Validate the dataset; write report.json and histogram PNGs; stop the demo on errors."""
    report = validate_dataset(ctx.dataset_dir)
    report_dir = ctx.out / "report"
    report.write_json(report_dir / "report.json")
    report.write_plots(report_dir)
    if not report.ok:
        raise RuntimeError("the generated dataset failed validation:\n" + report.summary())
    ctx.results["report"] = report
    ctx.results["report_dir"] = report_dir
    return f"validated: {len(report.errors)} errors, {len(report.warnings)} warnings; report in {report_dir}"


def step_register(ctx: DemoContext) -> str:
    """Register the dataset in the workspace store (identical content is not stored twice)."""
    res = DatasetStore().add(ctx.dataset_dir, DEMO_DATASET)
    ctx.results["dataset"] = res.dataset
    verb = "registered" if res.created else "already registered as"
    return f"{verb} {res.dataset.ref} ({res.dataset.hash[:19]}…) in {DatasetStore().root}"


STEPS: list[tuple[str, Callable[[DemoContext], str]]] = [
    ("generate", step_generate),
    ("validate", step_validate),
    ("register", step_register),
    ("train lmssl (joint)", step_lmssl),
    ("evaluate small", step_evaluate),
    ("full-page ocr", step_ocr),
    ("summary", step_summary),
]


def _claim_output(ctx: DemoContext) -> None:
    """Record the preset in ``DIR/demo.json``; refuse a folder holding another preset's demo (its dataset and
    run would be reused as if they were this one's)."""
    marker = ctx.out / "demo.json"
    mine = {"preset": ctx.preset.name, "synth": asdict(ctx.synth)}
    if marker.is_file():
        theirs = json.loads(marker.read_text(encoding="utf-8"))
        if theirs != mine:
            raise RuntimeError(f"{ctx.out} holds a demo made with other settings ({marker}: preset "
                               f"{theirs.get('preset')!r}); choose another --out or delete that folder")
    else:
        marker.write_text(json.dumps(mine, indent=2) + "\n", encoding="utf-8")


def run_demo(out: str | Path, steps: list[tuple[str, Callable[[DemoContext], str]]] | None = None,
             synth: SynthConfig | None = None, preset: DemoPreset = DEMO) -> DemoContext:
    """Run the demo steps in order into ``out``; returns the context with each step's results.

    ``synth`` overrides the preset's dataset sizes (the cheap steps' tests use a handful of lines).
    """
    ctx = DemoContext(Path(out).resolve(), synth or preset.synth, preset)
    ctx.out.mkdir(parents=True, exist_ok=True)
    _claim_output(ctx)
    os.environ.setdefault(HOME_ENV, str(ctx.out / "workspace"))
    steps = steps or STEPS
    t_all = time.perf_counter()
    for i, (name, fn) in enumerate(steps, start=1):
        t0 = time.perf_counter()
        message = fn(ctx)
        print(f"[{i}/{len(steps)}] {name} ({time.perf_counter() - t0:.1f}s): {message}", flush=True)
    ctx.results["wall_s"] = time.perf_counter() - t_all
    return ctx


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m semiocr.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="demo_output", help="output folder (default: demo_output)")
    parser.add_argument("--quick", action="store_true", help="a much smaller smoke run (numbers not meaningful)")
    args = parser.parse_args(argv)
    ctx = run_demo(args.out, preset=QUICK if args.quick else DEMO)
    print(f"done in {ctx.results['wall_s'] / 60:.1f} min. outputs in {ctx.out}; summary {ctx.out / 'summary.md'}; "
          f"workspace (SEMIOCR_HOME) {os.environ[HOME_ENV]}")
    print(json.dumps(ctx.results.get("headline", {}), indent=1))


if __name__ == "__main__":
    main()
