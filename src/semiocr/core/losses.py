"""CTC loss on model logits ``[N, T, C]`` (class 0 = blank), safe for empty targets and AMP."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class CTCLoss(nn.Module):
    """Mean CTC loss per sample from logits ``[N, T, C]``.

    Targets are given concatenated (``targets`` 1-D, ``target_lengths`` per sample), as ``torch.nn.CTCLoss``
    expects. Log-softmax runs in float32 (AMP-safe); ``zero_infinity`` turns impossible alignments (a label
    longer than the frames allow) into zero loss instead of ``inf``. Empty targets are valid: their loss is
    ``-log P(all blank)``. ``reduction="none"`` returns one loss per sample (for weighting pseudo-labels).
    """

    def __init__(self, blank: int = 0, zero_infinity: bool = True, reduction: str = "mean"):
        super().__init__()
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
        self.blank = blank
        self.zero_infinity = zero_infinity
        self.reduction = reduction

    def forward(self, logits: torch.Tensor, targets: torch.Tensor, target_lengths: torch.Tensor) -> torch.Tensor:
        if logits.ndim != 3:
            raise ValueError(f"CTCLoss expects logits [N, T, C], got {list(logits.shape)}")
        n, t, _ = logits.shape
        log_probs = F.log_softmax(logits.float(), dim=2).transpose(0, 1)  # [T, N, C]
        input_lengths = torch.full((n,), t, dtype=torch.long, device=logits.device)
        target_lengths = target_lengths.to(device=logits.device, dtype=torch.long)
        targets = targets.to(device=logits.device, dtype=torch.long)
        # cuDNN's CTC has restrictions (int32, lengths on CPU, no empty targets); the native kernel does not.
        with torch.backends.cudnn.flags(enabled=False):
            per_sample = F.ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=self.blank,
                                    reduction="none", zero_infinity=self.zero_infinity)
        if self.reduction == "none":
            return per_sample
        if self.reduction == "sum":
            return per_sample.sum()
        return per_sample.mean()
