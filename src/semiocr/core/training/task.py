"""The contract between the one generic training loop and the task objects (one per training stage).

The loop (``semiocr.core.training.loop``) never branches on algorithm names: supervised training, the
semi-supervised teacher and the distilled student are different ``TrainTask`` implementations. The loop
owns the device, optimiser, scheduler, AMP scaler, gradient clipping, DDP wrapping, checkpoints, resume,
pretrained loading, progress and metrics logging; the task owns data, the forward pass and loss, extra
state (EMA weights, rounds, pseudo-labels), evaluation and the checkpoint metadata.

Call order in ``fit``: ``setup`` (optional, see ``OptionalTaskHooks``) → (pretrained weights into ``model``)
→ optimiser → (resume: ``load_state_dict``) → per epoch ``train_batches`` / ``training_step`` /
``after_optimizer_step`` → ``evaluate`` on rank 0 every ``eval_interval`` epochs → ``state_dict`` into
checkpoints.

The outside world reaches the loop through two arguments only: an ``EventSink`` and ``should_stop()``
(``semiocr.core.events``). The loop hands ``should_stop`` to the task as ``task.should_stop`` so that long
evaluations can poll it (``check_stop``) and end within seconds of a stop request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import torch
from torch import nn

from semiocr.core.events import never
from semiocr.core.weights.checkpoint import CheckpointMeta


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

    #: name of the metric in ``evaluate()`` that picks ``best`` (higher is better), e.g. "acc"
    selection_metric: str

    def train_batches(self, epoch: int) -> Iterable[Any]:
        """Batches of ``epoch`` (order seeded by epoch). Tasks may accept ``skip: int`` to drop the first
        ``skip`` batches cheaply on a mid-epoch resume; otherwise the loop skips them by iterating."""
        ...

    def training_step(self, model: nn.Module, batch: Any) -> StepOutput:
        """Forward + loss for one batch; ``model`` is ``self.model`` or its DDP wrapper."""
        ...

    def after_optimizer_step(self, step: int) -> None:
        """Hook after each optimiser step (e.g. EMA update)."""
        ...

    def evaluate(self) -> dict[str, float]:
        """Validation metrics of ``eval_module()``; must hold ``selection_metric``. Runs on rank 0 only."""
        ...

    def eval_module(self) -> nn.Module:
        """The weights that evaluation measures and checkpoints ship for inference (``model`` or its EMA)."""
        ...

    def state_dict(self) -> dict[str, Any]:
        """Extra task state for resume (EMA weights, round, pseudo-label set)."""
        ...

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        ...


class OptionalTaskHooks(Protocol):
    """Hooks the loop calls when a task defines them; the fallback it uses otherwise is named first."""

    def setup(self, device: torch.device, rank: int, world_size: int) -> None:
        """Fallback ``model.to(device)``. Move models to ``device`` and build this rank's data shard
        (called once, before the optimiser exists)."""
        ...

    def steps_per_epoch(self) -> int:
        """Fallback ``len(task)``. Optimiser steps per epoch on this rank (equal on all); sizes the schedule."""
        ...

    def aux_models(self) -> Iterable[nn.Module]:
        """Fallback none. Networks the task runs besides ``model`` (a frozen teacher, an EMA copy): the loop
        gives them ``model``'s memory format (``channels_last``)."""
        ...

    #: optional: metric that breaks ties of ``selection_metric`` (higher is better), e.g. "norm_edit"
    tiebreak_metric: str

    def checkpoint_meta(self) -> CheckpointMeta:
        """Fallback ``CheckpointMeta(arch=model.arch_name)``. Self-description stored in every checkpoint:
        ``arch``, ``charset``, ``input`` spec, ``dataset_hash``, ``parent``, stage-specific ``extra``."""
        ...


class TaskBase:
    """Convenience defaults for tasks: no hook, no extra state, evaluate ``model`` itself."""

    model: nn.Module
    should_stop: Callable[[], bool] = staticmethod(never)

    def after_optimizer_step(self, step: int) -> None:
        return None

    def eval_module(self) -> nn.Module:
        return self.model

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        return None
