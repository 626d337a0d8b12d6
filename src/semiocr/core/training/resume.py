"""Resume state stored in a checkpoint's ``train`` section: step counters, best metric, optimiser, scheduler,
AMP scaler, task state and RNG (as plain types and tensors, so checkpoints load with ``weights_only=True``)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn


@dataclass
class TrainState:
    """What the loop needs to continue a run exactly."""

    epoch: int  # epochs fully done
    step: int  # optimiser steps done in total
    epoch_step: int  # optimiser steps done inside the current (unfinished) epoch
    best: float | None
    best_epoch: int | None
    best_tiebreak: float | None = None  # the task's ``tiebreak_metric`` at ``best`` (if it has one)


def capture_rng() -> dict[str, Any]:
    """RNG state of python, numpy and torch (CPU and CUDA) as tensors and plain types."""
    name, keys, pos, has_gauss, cached = np.random.get_state()
    state = {"python": random.getstate(), "torch": torch.get_rng_state(),
             "numpy": {"name": name, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                       "has_gauss": int(has_gauss), "cached_gaussian": float(cached)}}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    n = state["numpy"]
    np.random.set_state((n["name"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"],
                         n["cached_gaussian"]))
    torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])


def train_section(*, model: nn.Module, eval_module: nn.Module, state: TrainState,
                  optimizer: torch.optim.Optimizer | None, scheduler: Any, scaler: Any,
                  task_state: dict[str, Any]) -> dict[str, Any]:
    """The ``train`` section of a checkpoint (training weights only when they differ from the inference ones)."""
    return {
        "model": None if eval_module is model else model.state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "scaler": scaler.state_dict() if scaler is not None else None,
        "epoch": state.epoch, "step": state.step, "epoch_step": state.epoch_step,
        "best": state.best, "best_epoch": state.best_epoch, "best_tiebreak": state.best_tiebreak,
        "rng": capture_rng(), "task": task_state,
    }
