"""``semiocr demo --out DIR`` (what ``make demo`` runs): the product's main job end to end on generated data.

Each step is a ``(name, function)`` pair in ``STEPS``; a function takes the shared ``DemoContext`` and returns
one line for the console. The steps: generate a synthetic dataset, validate it (report + histograms), register
it in the workspace (``SEMIOCR_HOME``, set to ``DIR/workspace`` unless already set), run a joint LMSSL job on it
(large model semi-supervised → pseudo-labels → distilled small model), evaluate the best small model on the
test split, read one or two generated pages with the imported PP-OCRv4 mobile detector chained with that small
model, export that small model with the detector as an offline package and check it (``verify``), serve it and
answer one OCR request with a new token, and print a summary of every output path and the headline numbers (also
``DIR/summary.md``).

Sizes live in a ``DemoPreset`` (``DEMO``, or ``QUICK`` with ``--quick`` for a smoke run). Every step calls
the same public API as the CLI (``run_lmssl``, ``evaluate_samples``, ``build_pipeline``, ``evaluate_e2e``).
Run again with the same ``--out`` and finished work is reused (the LMSSL run resumes / skips its stages).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import typer

from semiocr.cli.demo_deploy import step_package, step_serve
from semiocr.cli.demo_presets import DEMO, QUICK, DemoContext, DemoPreset
from semiocr.cli.demo_steps import (
    step_evaluate,
    step_generate,
    step_lmssl,
    step_ocr,
    step_register,
    step_summary,
    step_validate,
)
from semiocr.core.data.synth import SynthConfig
from semiocr.core.workspace import HOME_ENV

STEPS: list[tuple[str, Callable[[DemoContext], str]]] = [
    ("generate", step_generate),
    ("validate", step_validate),
    ("register", step_register),
    ("train lmssl (joint)", step_lmssl),
    ("evaluate small", step_evaluate),
    ("full-page ocr", step_ocr),
    ("offline package", step_package),
    ("ocr service", step_serve),
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


def demo(out: Path = typer.Option(Path("demo_output"), "--out", help="output folder"),
         quick: bool = typer.Option(False, "--quick", help="a much smaller smoke run (numbers not meaningful)")
         ) -> None:
    """Run the main job end to end on a generated dataset and print where the results are."""
    ctx = run_demo(out, preset=QUICK if quick else DEMO)
    typer.echo(f"done in {ctx.results['wall_s'] / 60:.1f} min. outputs in {ctx.out}; summary {ctx.out / 'summary.md'}; "
               f"workspace (SEMIOCR_HOME) {os.environ[HOME_ENV]}")
    typer.echo(json.dumps(ctx.results.get("headline", {}), indent=1))
