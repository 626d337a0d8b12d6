"""Frame-level distillation between teacher and student CTC distributions."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def frames_align(student_logits: torch.Tensor, teacher_logits: torch.Tensor) -> bool:
    """True when both emit the same ``[N, T, C]`` shape, i.e. a frame-by-frame comparison is meaningful."""
    return student_logits.shape == teacher_logits.shape


def frame_kl(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float = 1.0,
             frame_mask: torch.Tensor | None = None) -> torch.Tensor | None:
    """``KL(teacher_T || student_T)`` per frame, summed over classes, averaged over (masked) frames, × T².

    Returns ``None`` when the frame counts (or class counts) differ: the student then learns from the
    teacher's sequence-level pseudo-labels only. ``frame_mask`` (``[N, T]`` bool) limits the loss to frames
    that cover real image content rather than right padding.
    """
    if not frames_align(student_logits, teacher_logits):
        return None
    if temperature <= 0:
        raise ValueError(f"distillation temperature must be positive, got {temperature}")
    log_p_s = F.log_softmax(student_logits.float() / temperature, dim=-1)
    log_p_t = F.log_softmax(teacher_logits.detach().float() / temperature, dim=-1)
    kl = (log_p_t.exp() * (log_p_t - log_p_s)).sum(-1)  # [N, T]
    if frame_mask is not None:
        mask = frame_mask.to(kl.dtype)
        kl = (kl * mask).sum() / mask.sum().clamp_min(1.0)
    else:
        kl = kl.mean()
    return kl * temperature ** 2
