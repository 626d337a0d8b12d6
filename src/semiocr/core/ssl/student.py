"""The distilled student task: labelled ∪ teacher pseudo-labels, plus frame-level KL to the frozen teacher's
CTC distribution when both emit the same number of frames (else the pseudo-labels alone carry the knowledge)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from semiocr.core.ssl.common import RecTaskBase, TaskData, freeze
from semiocr.core.ssl.distill import frame_kl, frames_align
from semiocr.core.ssl.pseudo_label import PseudoLabel
from semiocr.core.weights.checkpoint import CheckpointMeta
from semiocr.runtime.ctc import ctc_greedy_decode


def content_frame_mask(images: torch.Tensor, num_frames: int) -> torch.Tensor:
    """``[N, T]`` bool: frames whose centre falls on image content rather than right padding.

    The shared preprocessing pads with exactly 0 while real pixels never normalise to 0 ((v/255−0.5)/0.5 = 0
    needs v = 127.5), so the content width is the last column holding a non-zero value.
    """
    cols = images.abs().amax(dim=(1, 2)) > 0  # [N, W]
    width = images.shape[-1]
    idx = torch.arange(width, device=images.device)
    content = torch.where(cols, idx, torch.full_like(idx, -1)).amax(dim=1) + 1  # [N]
    centres = (torch.arange(num_frames, device=images.device, dtype=torch.float32) + 0.5) * width / num_frames
    mask = centres[None, :] < content[:, None].float()
    mask[:, 0] = True
    return mask


class StudentTask(RecTaskBase):
    """Train the small model; ``teacher`` is frozen, kept as a named attribute and never wrapped in DDP."""

    task_name = "ssl-student"

    def __init__(self, model: nn.Module, data: TaskData, pseudo: Sequence[PseudoLabel] = (), *,
                 teacher: nn.Module | None = None, kd_weight: float = 1.0, kd_temperature: float = 2.0,
                 kd_only_agreeing: bool = False, labelled_share: float = 0.5, pseudo_weight: float = 1.0,
                 ema_decay: float | None = None, ema_warmup_steps: int = 0, seed: int = 0, parent: str | None = None):
        super().__init__(model, data, pseudo, labelled_share, pseudo_weight, ema_decay, ema_warmup_steps, seed,
                         parent)
        self.teacher = freeze(teacher) if teacher is not None else None
        self.kd_weight = kd_weight
        self.kd_temperature = kd_temperature
        self.kd_only_agreeing = kd_only_agreeing
        self.kd_active: bool | None = None  # set on the first batch: do the frame counts match?

    def setup(self, device: torch.device, rank: int, world_size: int) -> None:
        super().setup(device, rank, world_size)
        if self.teacher is not None:
            self.teacher.to(self.device)

    def aux_models(self) -> list[nn.Module]:
        return [*super().aux_models(), *([self.teacher] if self.teacher is not None else [])]

    def extra_loss(self, model: nn.Module, batch: Any, logits: torch.Tensor, logs: dict[str, float]
                   ) -> torch.Tensor | None:
        if self.teacher is None or self.kd_weight <= 0:
            return None
        images = batch.batch.images
        with torch.no_grad():
            t_logits = self.teacher(images)
        mask = content_frame_mask(images, logits.shape[1])
        if self.kd_only_agreeing and frames_align(logits, t_logits):
            agree = self.teacher_agrees(t_logits, batch.batch.texts)
            logs["kd_agree"] = float(agree.float().mean())
            mask = mask & agree[:, None]
        kl = frame_kl(logits, t_logits, self.kd_temperature, mask)
        self.kd_active = kl is not None
        if kl is None:
            return None
        logs["kd"] = float(kl.detach())
        return self.kd_weight * kl

    def teacher_agrees(self, teacher_logits: torch.Tensor, texts: Sequence[str | None]) -> torch.Tensor:
        """``[N]`` bool: the teacher's greedy reading of the image as the student sees it (augmented, maybe
        upside down) is the text the student is trained on. Elsewhere the teacher's frame distribution pulls
        against that label (e.g. a pool line the teacher labelled by reading it turned by 180°)."""
        reads = ctc_greedy_decode(teacher_logits.detach().float().softmax(-1).cpu().numpy(), self.data.charset)
        return torch.tensor([r.text == (t or "") for r, t in zip(reads, texts, strict=True)],
                            device=teacher_logits.device)

    def checkpoint_meta(self) -> CheckpointMeta:
        meta = super().checkpoint_meta()
        meta.extra.update(kd_weight=self.kd_weight, kd_temperature=self.kd_temperature,
                          kd_only_agreeing=self.kd_only_agreeing)
        return meta
