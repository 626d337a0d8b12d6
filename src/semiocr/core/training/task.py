"""The contract between the one generic training loop and the task objects (one per training stage).

The loop (``semiocr.core.training.loop``) never branches on algorithm names: supervised training, the
semi-supervised teacher and the distilled student are different ``TrainTask`` implementations. The loop
owns the optimiser, scheduler, AMP scaler, gradient clipping, DDP wrapping, checkpoints, resume, progress
and metrics logging; the task owns data, the forward pass and loss, extra state (EMA weights, rounds,
pseudo-labels) and evaluation.

The outside world reaches the loop through two arguments only: an ``EventSink`` and ``should_stop()``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import torch
from torch import nn


@dataclass
class StepOutput:
    """What one training step returns: the loss to back-propagate and scalars to log."""

    loss: torch.Tensor
    logs: dict[str, float] = field(default_factory=dict)
    batch_size: int = 0


@runtime_checkable
class TrainTask(Protocol):
    """One training stage, run by the generic loop."""

    #: the module whose parameters the optimiser trains (the loop may wrap it in DDP for the forward pass)
    model: nn.Module

    def train_batches(self, epoch: int) -> Iterable[Any]:
        """Batches of one epoch (the task builds loaders and samplers; ``epoch`` seeds shuffling)."""
        ...

    def training_step(self, model: nn.Module, batch: Any) -> StepOutput:
        """Forward + loss for one batch; ``model`` is ``self.model`` or its DDP wrapper."""
        ...

    def after_optimizer_step(self, step: int) -> None:
        """Hook after each optimiser step (e.g. EMA update)."""
        ...

    def evaluate(self) -> dict[str, float]:
        """Validation metrics of the weights that would be saved as ``best``; must hold ``selection_metric``."""
        ...

    def eval_module(self) -> nn.Module:
        """The weights that evaluation measures and ``best`` saves (``model`` or its EMA)."""
        ...

    def state_dict(self) -> dict[str, Any]:
        """Extra task state for resume (EMA weights, round, pseudo-label set, sampler state)."""
        ...

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        ...

    #: name of the metric in ``evaluate()`` that picks ``best`` (higher is better), e.g. "acc"
    selection_metric: str


class EventSink(Protocol):
    """Where the loop reports: console, JSONL log file, database. ``kind`` is one of
    ``"start"``, ``"progress"``, ``"metrics"``, ``"checkpoint"``, ``"log"``, ``"end"``."""

    def __call__(self, kind: str, payload: Mapping[str, Any]) -> None: ...
