"""Run one SSL stage (a ``TrainTask``) with the engine's generic loop in its own directory.

Adds what the recipe needs around ``fit``: validation metrics at the stage's start (``start.json``), resume
from ``checkpoints/latest.pt`` when the directory holds an unfinished run, and ``done.json`` once finished so
that a resumed recipe skips the stage. A stop request raises ``StageStopped`` (``latest.pt`` is saved).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from semiocr.core.ssl.config import OptimCfg
from semiocr.core.training.checkpoint import CHECKPOINT_DIR, load_checkpoint
from semiocr.core.training.config import TrainConfig
from semiocr.core.training.ddp import resolve_device
from semiocr.core.training.loop import fit
from semiocr.core.training.task import EventSink, TrainTask


class StageStopped(RuntimeError):
    """A stop was requested; ``checkpoints/latest.pt`` holds the state to resume from."""


@dataclass
class StageResult:
    """Outcome of a stage: validation metrics at its start and of its best weights, and that weights file."""

    start: dict[str, float]
    best: dict[str, float]
    best_path: Path
    epochs: int


def train_config(optim: OptimCfg, task: TrainTask, out_dir: Path, *, device: str, seed: int,
                 model_kwargs: Mapping[str, Any], max_width: int | None, eval_batch_size: int) -> TrainConfig:
    """The engine ``TrainConfig`` of one stage (the recipe's knobs mapped onto the loop's)."""
    steps = max(1, task.steps_per_epoch())
    return TrainConfig(arch=getattr(task.model, "arch_name", type(task.model).__name__),
                       model_kwargs=dict(model_kwargs), output_dir=str(out_dir), epochs=max(1, optim.epochs),
                       batch_size=optim.batch_size, learning_rate=optim.lr, weight_decay=optim.weight_decay,
                       warmup_steps=int(optim.warmup_epochs * steps), eval_interval=optim.eval_every,
                       grad_clip=optim.grad_clip or 0.0, save_periodic=False, seed=seed, device=device,
                       max_width=max_width or 960, eval_batch_size=eval_batch_size, log_interval=max(1, steps // 4))


def run_stage(task: TrainTask, out_dir: Path, cfg: TrainConfig, *, sink: EventSink | None = None,
              should_stop: Callable[[], bool] | None = None) -> StageResult:
    """Train ``task`` with ``fit`` in ``out_dir``; resume an unfinished stage; skip a finished one."""
    out_dir.mkdir(parents=True, exist_ok=True)
    done, start_file = out_dir / "done.json", out_dir / "start.json"
    best_path = out_dir / CHECKPOINT_DIR / "best.pt"
    if done.is_file():
        d = json.loads(done.read_text())
        return StageResult(d["start"], d["best"], best_path, d["epochs"])
    latest = out_dir / CHECKPOINT_DIR / "latest.pt"
    if not start_file.is_file():
        task.setup(resolve_device(cfg.device), 0, 1)
        start_file.write_text(json.dumps(task.evaluate(), indent=2))
    start = json.loads(start_file.read_text())
    cfg = cfg.model_copy(update={"resume": str(latest) if latest.is_file() else None, "output_dir": str(out_dir)})
    result = fit(task, cfg, sink=sink, should_stop=should_stop, run_dir=out_dir)
    if result.reason == "stopped":
        raise StageStopped(f"stop requested in {out_dir} at epoch {result.epoch}, step {result.step}")
    best = dict(load_checkpoint(best_path)["meta"]["metrics"])
    done.write_text(json.dumps({"start": start, "best": best, "epochs": cfg.epochs}, indent=2))
    return StageResult(start, best, best_path, cfg.epochs)
