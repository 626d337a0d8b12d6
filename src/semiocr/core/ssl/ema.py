"""Exponential moving average of a model's weights (parameters and floating-point buffers)."""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn


class ModelEMA:
    """EMA copy of ``model``: ``ema = d * ema + (1 - d) * live`` after each optimiser step.

    ``d`` ramps up as ``decay * (1 - exp(-updates / warmup_steps))`` so that early, random weights are
    forgotten quickly; ``warmup_steps=0`` uses ``decay`` from the first update. Integer buffers (e.g.
    BatchNorm's ``num_batches_tracked``) are copied, not averaged.
    """

    def __init__(self, model: nn.Module, decay: float = 0.999, warmup_steps: int = 0):
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"EMA decay must be in [0, 1), got {decay}")
        self.module = copy.deepcopy(model).eval()
        for p in self.module.parameters():
            p.requires_grad_(False)
        self.decay = decay
        self.warmup_steps = warmup_steps
        self.updates = 0

    def current_decay(self) -> float:
        """The decay used by the next update."""
        if self.warmup_steps <= 0:
            return self.decay
        return self.decay * (1.0 - math.exp(-(self.updates + 1) / self.warmup_steps))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """Move the EMA weights towards ``model`` (unwrap DDP before calling)."""
        d = self.current_decay()
        live = model.state_dict()
        for name, ema_t in self.module.state_dict().items():
            src = live[name].detach()
            if ema_t.dtype.is_floating_point:
                ema_t.mul_(d).add_(src.to(ema_t.dtype), alpha=1.0 - d)
            else:
                ema_t.copy_(src)
        self.updates += 1

    @torch.no_grad()
    def reset_to(self, model: nn.Module) -> None:
        """Make the EMA an exact copy of ``model`` (e.g. at the start of a round)."""
        self.module.load_state_dict(model.state_dict())
        self.updates = 0

    def state_dict(self) -> dict[str, Any]:
        return {"module": self.module.state_dict(), "updates": self.updates, "decay": self.decay,
                "warmup_steps": self.warmup_steps}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.module.load_state_dict(state["module"])
        self.updates = int(state["updates"])
        self.decay = float(state.get("decay", self.decay))
        self.warmup_steps = int(state.get("warmup_steps", self.warmup_steps))
