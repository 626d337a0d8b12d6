"""Run one SSL stage (a ``TrainTask``) with the engine's generic loop in its own directory.

Adds what the recipe needs around ``fit``: validation metrics at the stage's start (``start.json``), resume
from ``checkpoints/latest.pt`` when the directory holds an unfinished run, and ``done.json`` once finished so
that a resumed recipe skips the stage. A stop request raises ``StopRequested`` (``latest.pt`` is saved once
training has started).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from semiocr.core.events import Event, EventSink, JsonlSink, Metrics, StopRequested, never
from semiocr.core.inference.device import resolve_device
from semiocr.core.ssl.common import selection_score
from semiocr.core.ssl.config import OptimCfg
from semiocr.core.training.config import LoopConfig
from semiocr.core.training.loop import fit
from semiocr.core.training.task import TrainTask
from semiocr.core.weights.checkpoint import CHECKPOINT_DIR, read_checkpoint


@dataclass
class StageResult:
    """Outcome of a stage: validation metrics at its start and of its best weights, that weights file, and the
    best validation metrics that training itself reached (``trained``; empty when no epoch was evaluated)."""

    start: dict[str, float]
    best: dict[str, float]
    best_path: Path
    epochs: int
    trained: dict[str, float] = field(default_factory=dict)

    def improved(self, key: str) -> bool:
        """Whether training beat the start weights on ``key`` (ties broken by the other of acc / norm_edit)."""
        return bool(self.trained) and selection_score(self.trained, key) > selection_score(self.start, key)


def train_config(optim: OptimCfg, task: TrainTask, out_dir: Path, *, device: str, seed: int,
                 model_kwargs: Mapping[str, Any], cpu_bf16: bool | Literal["auto"] = False,
                 channels_last: bool = False) -> LoopConfig:
    """The loop config of one stage: the stage's optimisation knobs plus where and how to run (the run-wide
    ``LmsslConfig.step_settings()``: ``cpu_bf16``, ``channels_last``)."""
    steps = max(1, task.steps_per_epoch())
    knobs = optim.model_dump()
    knobs["epochs"] = max(1, optim.epochs)
    return LoopConfig(**knobs, arch=getattr(task.model, "arch_name", type(task.model).__name__),
                      model_kwargs=dict(model_kwargs), output_dir=str(out_dir), save_periodic=False, seed=seed,
                      device=device, log_interval=max(1, steps // 4), cpu_bf16=cpu_bf16,
                      channels_last=channels_last)


def finished_stage(out_dir: Path) -> StageResult | None:
    """The result of the stage in ``out_dir`` if it finished (``done.json``), else None."""
    done = out_dir / "done.json"
    if not done.is_file():
        return None
    d = json.loads(done.read_text())
    return StageResult(d["start"], d["best"], out_dir / CHECKPOINT_DIR / "best.pt", d["epochs"], d.get("trained", {}))


def copy_stage(src: Path, dst: Path) -> StageResult:
    """Reuse the finished stage ``src`` as stage ``dst`` (its records and best weights, not its resume state)."""
    if finished_stage(dst) is None:
        if finished_stage(src) is None:
            raise ValueError(f"{src}: stage not finished, nothing to reuse")
        shutil.rmtree(dst, ignore_errors=True)
        (dst / CHECKPOINT_DIR).mkdir(parents=True)
        shutil.copyfile(src / CHECKPOINT_DIR / "best.pt", dst / CHECKPOINT_DIR / "best.pt")
        shutil.copyfile(src / "start.json", dst / "start.json")
        shutil.copyfile(src / "done.json", dst / "done.json")  # last: marks dst finished
    return finished_stage(dst)


def run_stage(task: TrainTask, out_dir: Path, cfg: LoopConfig, *, sink: EventSink | None = None,
              should_stop: Callable[[], bool] | None = None,
              start_metrics: Mapping[str, float] | None = None) -> StageResult:
    """Train ``task`` with ``fit`` in ``out_dir``; resume an unfinished stage; skip a finished one.

    The start weights are evaluated first (``start.json``) and stay the stage's best unless training beats
    them on validation, so a stage never hands on weights worse than those it started from. A caller that
    already measured the start weights (a previous stage's best) passes ``start_metrics`` instead and keeps
    those weights as a candidate itself: the evaluation is not repeated.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    done, start_file = out_dir / "done.json", out_dir / "start.json"
    best_path = out_dir / CHECKPOINT_DIR / "best.pt"
    if (finished := finished_stage(out_dir)) is not None:
        return finished
    latest = out_dir / CHECKPOINT_DIR / "latest.pt"
    if start_metrics is not None:
        start_file.write_text(json.dumps(dict(start_metrics), indent=2))
    elif latest.is_file() and not start_file.is_file():  # stopped before this file existed: measure it now
        task.setup(resolve_device(cfg.device), 0, 1)
        task.should_stop = should_stop or never
        start_file.write_text(json.dumps(task.evaluate(), indent=2))

    outer = sink or JsonlSink(out_dir / "metrics.jsonl")

    trained_file = out_dir / "trained.json"  # the best validation metrics training reached (kept across resumes)

    def stage_sink(event: Event) -> None:
        if isinstance(event, Metrics) and event.epoch == 0:  # fit's evaluation of the start weights
            start_file.write_text(json.dumps(event.values, indent=2))
        elif isinstance(event, Metrics):
            seen = json.loads(trained_file.read_text()) if trained_file.is_file() else None
            if seen is None or _key(event.values, task) > _key(seen, task):
                trained_file.write_text(json.dumps({**event.values, "epoch": event.epoch}, indent=2))
        outer(event)

    cfg = cfg.model_copy(update={"resume": str(latest) if latest.is_file() else None, "output_dir": str(out_dir),
                                 "eval_at_start": start_metrics is None})
    result = fit(task, cfg, sink=stage_sink, should_stop=should_stop, run_dir=out_dir)
    if result.reason == "stopped":
        raise StopRequested(f"stop requested in {out_dir} at epoch {result.epoch}, step {result.step}")
    start = json.loads(start_file.read_text())
    best = dict(read_checkpoint(best_path)["meta"].metrics)
    trained = json.loads(trained_file.read_text()) if trained_file.is_file() else {}
    done.write_text(json.dumps({"start": start, "best": best, "epochs": cfg.epochs, "trained": trained}, indent=2))
    return StageResult(start, best, best_path, cfg.epochs, trained)


def _key(metrics: Mapping[str, Any], task: TrainTask) -> tuple[float, float]:
    tie = getattr(task, "tiebreak_metric", None)
    return float(metrics.get(task.selection_metric, float("-inf"))), float(metrics.get(tie, float("-inf")))

