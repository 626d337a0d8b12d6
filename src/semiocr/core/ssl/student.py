"""The distilled student task: labelled ∪ teacher pseudo-labels, plus frame-level KL to the frozen teacher's
CTC distribution when both emit the same number of frames (else the pseudo-labels alone carry the knowledge)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from semiocr.core.ssl.common import RecTaskBase, TaskData, freeze
from semiocr.core.ssl.data import RecBatch, frame_mask
from semiocr.core.ssl.distill import frame_kl
from semiocr.core.ssl.pseudo_label import PseudoLabel


class StudentTask(RecTaskBase):
    """Train the small model; ``teacher`` is frozen, kept as a named attribute and never wrapped in DDP."""

    def __init__(self, model: nn.Module, data: TaskData, pseudo: Sequence[PseudoLabel] = (), *,
                 teacher: nn.Module | None = None, kd_weight: float = 1.0, kd_temperature: float = 2.0,
                 labelled_share: float = 0.5, pseudo_weight: float = 1.0, ema_decay: float | None = None,
                 ema_warmup_steps: int = 0, device: str | torch.device = "cpu", seed: int = 0):
        super().__init__(model, data, pseudo, labelled_share, pseudo_weight, ema_decay, ema_warmup_steps,
                         device, seed)
        self.teacher = freeze(teacher.to(self.device)) if teacher is not None else None
        self.kd_weight = kd_weight
        self.kd_temperature = kd_temperature
        self.kd_active: bool | None = None  # set on the first batch: do the frame counts match?

    def extra_loss(self, batch: RecBatch, logits: torch.Tensor, logs: dict[str, float]) -> torch.Tensor | None:
        if self.teacher is None or self.kd_weight <= 0:
            return None
        with torch.no_grad():
            t_logits = self.teacher(batch.x)
        mask = frame_mask(batch.widths, batch.x.shape[-1], logits.shape[1])
        kl = frame_kl(logits, t_logits, self.kd_temperature, mask)
        self.kd_active = kl is not None
        if kl is None:
            return None
        logs["kd"] = float(kl.detach())
        return self.kd_weight * kl

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "kd_active": self.kd_active}
