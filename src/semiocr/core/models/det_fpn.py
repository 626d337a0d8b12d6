"""RSE-FPN: the residual squeeze-excitation feature pyramid of PP-OCRv4 mobile detection.

Four backbone maps (strides 4..32) → per level a 1x1 conv with residual SE (``ins_conv``) → top-down
nearest x2 upsampling + add → per level a 3x3 conv (out/4) with residual SE (``inp_conv``) → upsample all to
stride 4 and concatenate → ``[N, out_channels, H/4, W/4]``.

PP-OCRv6 small det uses the same pyramid with a large-kernel output conv (``dw_kernel=7``): each ``inp_conv`` is a
depthwise 7x7 conv (bias; the re-parameterised inference form) followed by a 1x1 conv (out/4) with residual SE.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class _SE(nn.Module):
    """SE gate with PaddlePaddle's hard-sigmoid (slope 0.2, offset 0.5)."""

    def __init__(self, channels: int, reduction: int = 4):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels // reduction, 1)
        self.conv2 = nn.Conv2d(channels // reduction, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.conv2(F.relu(self.conv1(F.adaptive_avg_pool2d(x, 1))))
        return x * torch.clamp(0.2 * s + 0.5, 0.0, 1.0)


class RSELayer(nn.Module):
    """Conv (no bias) then ``x + se(x)`` (residual squeeze-excitation)."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel, padding=kernel // 2, bias=False)
        self.se = _SE(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        return x + self.se(x)


def _up(x: torch.Tensor, factor: int) -> torch.Tensor:
    return F.interpolate(x, scale_factor=factor, mode="nearest")


class RSEFPN(nn.Module):
    """Feature pyramid over ``in_channels`` (4 levels, fine → coarse); input sides must be multiples of 32."""

    def __init__(self, in_channels: list[int], out_channels: int = 96, dw_kernel: int | None = None):
        super().__init__()
        if len(in_channels) != 4:
            raise ValueError(f"RSEFPN needs 4 input levels, got {len(in_channels)}")
        self.out_channels = out_channels
        self.ins_conv = nn.ModuleList(RSELayer(c, out_channels, 1) for c in in_channels)
        self.inp_conv = nn.ModuleList(self._inp(out_channels, dw_kernel) for _ in in_channels)

    @staticmethod
    def _inp(channels: int, dw_kernel: int | None) -> nn.Module:
        if dw_kernel is None:
            return RSELayer(channels, channels // 4, 3)
        dw = nn.Conv2d(channels, channels, dw_kernel, padding=dw_kernel // 2, groups=channels)
        return nn.Sequential(dw, RSELayer(channels, channels // 4, 1))

    def forward(self, feats: list[torch.Tensor]) -> torch.Tensor:
        c2, c3, c4, c5 = feats
        in5 = self.ins_conv[3](c5)
        in4 = self.ins_conv[2](c4)
        in3 = self.ins_conv[1](c3)
        in2 = self.ins_conv[0](c2)
        out4 = in4 + _up(in5, 2)
        out3 = in3 + _up(out4, 2)
        out2 = in2 + _up(out3, 2)
        p5 = _up(self.inp_conv[3](in5), 8)
        p4 = _up(self.inp_conv[2](out4), 4)
        p3 = _up(self.inp_conv[1](out3), 2)
        p2 = self.inp_conv[0](out2)
        return torch.cat([p5, p4, p3, p2], dim=1)
