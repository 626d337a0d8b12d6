"""LKPAN: the large-kernel path-aggregation neck of PP-OCRv4 server detection (``mode="large"``).

Four backbone maps (strides 4..32, fine → coarse) → per level a 1x1 conv to ``out_channels`` → top-down
nearest x2 upsampling + add (as in FPN) → per level a 9x9 conv to ``out_channels/4`` → bottom-up path
aggregation (a 3x3 stride-2 conv of the finer level added to the next) → per level a 9x9 lateral conv →
upsample all to stride 4 and concatenate → ``[N, out_channels, H/4, W/4]``. All convs have no bias.
PaddleOCR's server config also turns on ``intracl`` (intra-level context blocks on the outputs); they are
not built here.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _up(x: torch.Tensor, factor: int) -> torch.Tensor:
    return F.interpolate(x, scale_factor=factor, mode="nearest")


class LKPAN(nn.Module):
    """Large-kernel PAN over ``in_channels`` (4 levels); input sides must be multiples of 32."""

    def __init__(self, in_channels: list[int], out_channels: int = 256, kernel: int = 9):
        super().__init__()
        if len(in_channels) != 4:
            raise ValueError(f"LKPAN needs 4 input levels, got {len(in_channels)}")
        if out_channels % 4:
            raise ValueError(f"LKPAN out_channels must be a multiple of 4, got {out_channels}")
        self.out_channels = out_channels
        q, pad = out_channels // 4, kernel // 2
        self.ins_conv = nn.ModuleList(nn.Conv2d(c, out_channels, 1, bias=False) for c in in_channels)
        self.inp_conv = nn.ModuleList(nn.Conv2d(out_channels, q, kernel, padding=pad, bias=False)
                                      for _ in in_channels)
        self.pan_head_conv = nn.ModuleList(nn.Conv2d(q, q, 3, stride=2, padding=1, bias=False) for _ in range(3))
        self.pan_lat_conv = nn.ModuleList(nn.Conv2d(q, q, kernel, padding=pad, bias=False) for _ in in_channels)

    def forward(self, feats: list[torch.Tensor]) -> torch.Tensor:
        ins = [conv(f) for conv, f in zip(self.ins_conv, feats, strict=True)]
        top_down = [ins[3]]
        for level in (2, 1, 0):
            top_down.insert(0, ins[level] + _up(top_down[0], 2))
        inp = [conv(f) for conv, f in zip(self.inp_conv, top_down, strict=True)]
        pan = [inp[0]]
        for level in (1, 2, 3):
            pan.append(inp[level] + self.pan_head_conv[level - 1](pan[-1]))
        lat = [conv(f) for conv, f in zip(self.pan_lat_conv, pan, strict=True)]
        return torch.cat([_up(lat[3], 8), _up(lat[2], 4), _up(lat[1], 2), lat[0]], dim=1)
