"""Run one training stage (a ``TrainTask``) in its own directory, resumable, selecting ``best`` by val metric.

This is the SSL recipe's adapter to a training loop: AdamW, linear warm-up then cosine decay per step,
gradient clipping, evaluation every ``eval_every`` epochs, ``last.pt`` (full resume state) and ``best.pt``
(the task's ``eval_module`` weights + metadata), and ``done.json`` once finished so that a resumed recipe
skips it. Events go to an ``EventSink``; ``should_stop()`` is polled between steps.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from semiocr.core.ssl.config import OptimCfg
from semiocr.core.training.task import EventSink, TrainTask


class StageStopped(RuntimeError):
    """A stop was requested; ``last.pt`` holds the state to resume from."""


@dataclass
class StageResult:
    """Outcome of a stage: metrics at start, best metrics, and the best weights file."""

    start: dict[str, float]
    best: dict[str, float]
    best_path: Path
    epochs: int


def _null_sink(kind: str, payload: Mapping[str, Any]) -> None:
    return None


def _lr_factor(step: int, total: int, warmup: int) -> float:
    if warmup > 0 and step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.02 + 0.98 * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def _save_best(task: TrainTask, path: Path, metrics: dict[str, float], meta: Mapping[str, Any]) -> None:
    state = {k: v.detach().cpu().clone() for k, v in task.eval_module().state_dict().items()}
    torch.save({"model": state, "metrics": metrics, **meta}, path)


def run_stage(task: TrainTask, out_dir: Path, optim: OptimCfg, *, name: str, meta: Mapping[str, Any] = (),
              sink: EventSink | None = None, should_stop: Callable[[], bool] | None = None) -> StageResult:
    """Train ``task`` for ``optim.epochs`` epochs in ``out_dir``; resume from ``last.pt``; skip if done."""
    out_dir.mkdir(parents=True, exist_ok=True)
    sink, meta = sink or _null_sink, dict(meta)
    done = out_dir / "done.json"
    if done.is_file():
        d = json.loads(done.read_text())
        return StageResult(d["start"], d["best"], out_dir / "best.pt", d["epochs"])
    opt = torch.optim.AdamW([p for p in task.model.parameters() if p.requires_grad], lr=optim.lr,
                            weight_decay=optim.weight_decay)
    steps_per_epoch = max(1, len(task))  # type: ignore[arg-type]
    total, warm = optim.epochs * steps_per_epoch, int(optim.warmup_epochs * steps_per_epoch)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: _lr_factor(s, total, warm))
    st = {"epoch": 0, "step": 0, "start": None, "best": None}
    last = out_dir / "last.pt"
    if last.is_file():
        ck = torch.load(last, map_location="cpu", weights_only=False)
        task.model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        sched.load_state_dict(ck["scheduler"])
        task.load_state_dict(ck["task"])
        torch.set_rng_state(ck["rng"])
        st = ck["state"]
        sink("log", {"stage": name, "message": f"resumed at epoch {st['epoch']}"})
    if st["start"] is None:
        st["start"] = task.evaluate()
        st["best"] = dict(st["start"])
        _save_best(task, out_dir / "best.pt", st["best"], meta)
        sink("metrics", {"stage": name, "epoch": 0, **{f"val_{k}": v for k, v in st["start"].items()}})
    sink("start", {"stage": name, "epochs": optim.epochs, "steps_per_epoch": steps_per_epoch})
    key = task.selection_metric
    while st["epoch"] < optim.epochs:
        t0, logs = time.time(), _train_epoch(task, opt, sched, optim, st, should_stop)
        st["epoch"] += 1
        payload: dict[str, Any] = {"stage": name, "epoch": st["epoch"], "lr": sched.get_last_lr()[0],
                                   "secs": round(time.time() - t0, 2), **logs}
        if st["epoch"] % optim.eval_every == 0 or st["epoch"] == optim.epochs:
            metrics = task.evaluate()
            payload.update({f"val_{k}": v for k, v in metrics.items()})
            if metrics[key] > st["best"][key]:
                st["best"] = dict(metrics)
                _save_best(task, out_dir / "best.pt", metrics, {**meta, "epoch": st["epoch"]})
                sink("checkpoint", {"stage": name, "path": str(out_dir / "best.pt"), key: metrics[key]})
        sink("metrics", payload)
        torch.save({"model": task.model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                    "task": task.state_dict(), "rng": torch.get_rng_state(), "state": st}, last)
    done.write_text(json.dumps({"start": st["start"], "best": st["best"], "epochs": optim.epochs}, indent=2))
    sink("end", {"stage": name, "best": st["best"]})
    return StageResult(st["start"], st["best"], out_dir / "best.pt", optim.epochs)


def _train_epoch(task: TrainTask, opt: torch.optim.Optimizer, sched: Any, optim: OptimCfg, st: dict[str, Any],
                 should_stop: Callable[[], bool] | None) -> dict[str, float]:
    task.model.train()
    sums: dict[str, float] = {}
    n = 0
    for batch in task.train_batches(st["epoch"]):
        if should_stop is not None and should_stop():
            raise StageStopped("stop requested")
        out = task.training_step(task.model, batch)
        opt.zero_grad(set_to_none=True)
        out.loss.backward()
        if optim.grad_clip:
            torch.nn.utils.clip_grad_norm_(task.model.parameters(), optim.grad_clip)
        opt.step()
        sched.step()
        st["step"] += 1
        task.after_optimizer_step(st["step"])
        for k, v in {"loss": float(out.loss.detach()), **out.logs}.items():
            sums[k] = sums.get(k, 0.0) + v
        n += 1
    return {k: v / max(n, 1) for k, v in sums.items()}
