"""Tiny real models for pipeline tests (no weights to download)."""

from __future__ import annotations

import torch
from torch import nn


class DarkInkDetector(nn.Module):
    """A fixed-weight DB-style detector: probability = sigmoid of a smoothed darkness map, at input size.

    Not trained and not random: on dark text over a light background it marks the text, which is enough
    to exercise the detection → crop → recognition plumbing on generated pages.
    """

    def __init__(self) -> None:
        super().__init__()
        self.gray = nn.Conv2d(3, 1, 1, bias=True)
        self.smooth = nn.Conv2d(1, 1, 5, padding=2, bias=False)
        with torch.no_grad():
            self.gray.weight.fill_(-8.0 / 3)  # dark (x = -1) → +8, light (x = +1) → -8
            self.gray.bias.zero_()
            self.smooth.weight.fill_(1 / 25)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.smooth(self.gray(x)))


class TinyRec(nn.Module):
    """A random-init recogniser with the project's contract: ``[N, 3, 48, W]`` → logits ``[N, W/8, C]``."""

    def __init__(self, num_classes: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU(),
                                  nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU(),
                                  nn.Conv2d(16, 16, 3, stride=2, padding=1))
        self.head = nn.Module()
        self.head.fc = nn.Linear(16, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.body(x).mean(dim=2).transpose(1, 2)
        return self.head.fc(f)
