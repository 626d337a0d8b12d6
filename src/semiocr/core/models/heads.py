"""The CTC head shared by every recognition architecture: ``head.fc`` maps features to class logits."""

from __future__ import annotations

import torch
from torch import nn


class CTCHead(nn.Module):
    """Linear classifier over frames: ``[N, T, D]`` → logits ``[N, T, num_classes]``.

    The final classifier is always ``self.fc`` (``nn.Linear``) so that head surgery
    (``semiocr.core.models.surgery.adapt_ctc_head``) works on any architecture. PP-OCRv4 uses an optional
    hidden layer (``mid_channels``) in some configurations; it sits before ``fc``.
    """

    def __init__(self, in_channels: int, num_classes: int, mid_channels: int | None = None, dropout: float = 0.0):
        super().__init__()
        self.mid = nn.Linear(in_channels, mid_channels) if mid_channels else None
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.fc = nn.Linear(mid_channels or in_channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mid is not None:
            x = self.mid(x)
        return self.fc(self.dropout(x))
