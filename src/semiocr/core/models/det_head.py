"""Differentiable-binarisation (DB) head of PP-OCRv4 detection: probability maps from the FPN features."""

from __future__ import annotations

import torch
from torch import nn


class _DBBranch(nn.Module):
    """conv3x3 → BN → ReLU → deconv x2 → BN → ReLU → deconv x2 → one-channel logits (4x upsampled)."""

    def __init__(self, in_channels: int):
        super().__init__()
        mid = in_channels // 4
        self.conv = nn.Conv2d(in_channels, mid, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(mid)
        self.deconv1 = nn.ConvTranspose2d(mid, mid, 2, stride=2)
        self.bn2 = nn.BatchNorm2d(mid)
        self.deconv2 = nn.ConvTranspose2d(mid, 1, 2, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.bn1(self.conv(x)))
        x = torch.relu(self.bn2(self.deconv1(x)))
        return self.deconv2(x)


class _FoldedDBBranch(nn.Module):
    """Inference form of ``_DBBranch`` with each BatchNorm folded into the conv before it (PP-OCRv6 det):
    conv3x3 (bias) → ReLU → deconv x2 (bias) → ReLU → deconv x2 → one-channel logits."""

    def __init__(self, in_channels: int):
        super().__init__()
        mid = in_channels // 4
        self.conv = nn.Conv2d(in_channels, mid, 3, padding=1)
        self.deconv1 = nn.ConvTranspose2d(mid, mid, 2, stride=2)
        self.deconv2 = nn.ConvTranspose2d(mid, 1, 2, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.conv(x))
        x = torch.relu(self.deconv1(x))
        return self.deconv2(x)


class DBHead(nn.Module):
    """Differentiable-binarisation head.

    Eval mode returns the shrink probability map ``[N, 1, H, W]`` (the inference output). Train mode, when
    built ``with_threshold``, returns ``[N, 3, H, W]``: shrink probability, threshold map and the approximate
    binary map ``sigmoid(k * (P - T))`` that the DB loss needs. The threshold branch is not part of the
    inference weights, so a model imported from them starts it from random init. ``folded`` builds both
    branches without BatchNorm (conv biases instead), the form of PP-OCRv6's inference weights.
    """

    def __init__(self, in_channels: int, k: float = 50.0, with_threshold: bool = True, folded: bool = False):
        super().__init__()
        self.k = k
        branch = _FoldedDBBranch if folded else _DBBranch
        self.binarize = branch(in_channels)
        self.thresh = branch(in_channels) if with_threshold else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shrink = torch.sigmoid(self.binarize(x))
        if not self.training or self.thresh is None:
            return shrink
        thresh = torch.sigmoid(self.thresh(x))
        binary = torch.sigmoid(self.k * (shrink - thresh))
        return torch.cat([shrink, thresh, binary], dim=1)


class DBDetector(nn.Module):
    """A DB text detector: ``backbone`` → ``neck`` → ``head`` (a ``DBHead``), set by subclasses. Input sides must
    be multiples of 32 (the backbones downsample by 32)."""

    backbone: nn.Module
    neck: nn.Module
    head: DBHead

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] % 32 or x.shape[-2] % 32:
            raise ValueError(f"detector input sides must be multiples of 32, got {list(x.shape[-2:])}")
        return self.head(self.neck(self.backbone(x)))
