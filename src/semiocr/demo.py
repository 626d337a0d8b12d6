"""``python -m semiocr.demo --out DIR`` (what ``make demo`` runs): the product end to end on generated data.

Each step is a ``(name, function)`` pair in ``STEPS``; a function takes the shared ``DemoContext`` and
returns one line for the console. Later issues append training, distillation, evaluation and export
steps here. Today: generate a synthetic dataset, validate it (report + histograms), register it in the
workspace (``SEMIOCR_HOME``, set to ``DIR/workspace`` unless already set).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from semiocr.core.data.synth import SynthConfig, generate_dataset
from semiocr.core.data.validate import validate_dataset
from semiocr.platform.datasets import DatasetStore
from semiocr.platform.settings import HOME_ENV

DEMO_DATASET = "demo"
DEMO_SYNTH = SynthConfig(n_train=200, n_val=100, n_test=100, n_unlabeled=1000, pages_train=20, pages_val=5, seed=0)


@dataclass
class DemoContext:
    """State shared by the demo steps; steps add what later steps need to ``results``."""

    out: Path
    synth: SynthConfig = DEMO_SYNTH
    results: dict[str, object] = field(default_factory=dict)

    @property
    def dataset_dir(self) -> Path:
        return self.out / "dataset"


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
]


def run_demo(out: str | Path, steps: list[tuple[str, Callable[[DemoContext], str]]] | None = None,
             synth: SynthConfig = DEMO_SYNTH) -> DemoContext:
    """Run the demo steps in order into ``out``; returns the context with each step's results."""
    ctx = DemoContext(Path(out).resolve(), synth)
    ctx.out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault(HOME_ENV, str(ctx.out / "workspace"))
    for i, (name, fn) in enumerate(steps or STEPS, start=1):
        t0 = time.perf_counter()
        message = fn(ctx)
        print(f"[{i}/{len(steps or STEPS)}] {name} ({time.perf_counter() - t0:.1f}s): {message}", flush=True)
    return ctx


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m semiocr.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="demo_output", help="output folder (default: demo_output)")
    args = parser.parse_args(argv)
    ctx = run_demo(args.out)
    print(f"done. outputs in {ctx.out}; workspace (SEMIOCR_HOME) {os.environ[HOME_ENV]}")


if __name__ == "__main__":
    main()
