"""PP-LCNetV3 backbone (PP-OCRv4 mobile rec and det), in the re-parameterised deploy form.

Each "learnable rep layer" of the training form (several conv branches + identity) is stored here as the
single fused convolution it becomes at inference (``conv`` with bias), followed by a learnable affine block
(``lab``: ``scale * x + bias``) and, unless its stride is exactly 2, a hard-swish that carries its own affine
block. This is the form of the official inference weights, and it trains like any conv net.

Architecture facts (block lists, kernel sizes, strides, SE placement, channel rounding to multiples of 16)
follow PaddleOCR's ``rec_lcnetv3.py`` / ``det_pp_lcnet_v3``; the code is written from those facts.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# (kernel, in, out, stride, use_se) per block; channels are scaled then rounded by ``make_divisible``.
BlockSpec = tuple[int, int, int, int | tuple[int, int], bool]

NET_CONFIG_REC: dict[str, list[BlockSpec]] = {
    "blocks2": [(3, 16, 32, 1, False)],
    "blocks3": [(3, 32, 64, 1, False), (3, 64, 64, 1, False)],
    "blocks4": [(3, 64, 128, (2, 1), False), (3, 128, 128, 1, False)],
    "blocks5": [(3, 128, 256, (1, 2), False)] + [(5, 256, 256, 1, False)] * 4,
    "blocks6": [(5, 256, 512, (2, 1), True), (5, 512, 512, 1, True), (5, 512, 512, (2, 1), False),
                (5, 512, 512, 1, False)],
}

NET_CONFIG_DET: dict[str, list[BlockSpec]] = {
    "blocks2": [(3, 16, 32, 1, False)],
    "blocks3": [(3, 32, 64, 2, False), (3, 64, 64, 1, False)],
    "blocks4": [(3, 64, 128, 2, False), (3, 128, 128, 1, False)],
    "blocks5": [(3, 128, 256, 2, False)] + [(5, 256, 256, 1, False)] * 4,
    "blocks6": [(5, 256, 512, 2, True), (5, 512, 512, 1, True), (5, 512, 512, 1, False), (5, 512, 512, 1, False)],
}

# Unscaled widths of the four det feature maps handed to the FPN (after the 1x1 ``layer_list`` convs).
DET_OUT_WIDTHS = (16, 24, 56, 480)


def make_divisible(v: float, divisor: int = 16) -> int:
    """Round a scaled channel count to a multiple of ``divisor`` (never more than 10% below ``v``)."""
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


class LearnableAffine(nn.Module):
    """``scale * x + bias`` with two learnable scalars (PP-LCNetV3's learnable affine block)."""

    def __init__(self, scale: float = 1.0, bias: float = 0.0):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor([scale]))
        self.bias = nn.Parameter(torch.tensor([bias]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * x + self.bias


class AffineHardswish(nn.Module):
    """Hard-swish followed by a learnable affine block."""

    def __init__(self):
        super().__init__()
        self.act = nn.Hardswish()
        self.lab = LearnableAffine()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lab(self.act(x))


class RepConv(nn.Module):
    """Deploy form of a learnable rep layer: fused conv (bias) → affine → hard-swish+affine (skipped at stride 2)."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int | tuple[int, int] = 1, groups: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch, kernel, stride, padding=(kernel - 1) // 2, groups=groups, bias=True)
        self.lab = LearnableAffine()
        self.act = AffineHardswish() if stride != 2 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.lab(self.conv(x)))


class SqueezeExcite(nn.Module):
    """Channel attention: global pool → 1x1 (c/4) → ReLU → 1x1 (c) → hard-sigmoid → rescale."""

    def __init__(self, channels: int, reduction: int = 4):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels // reduction, 1)
        self.conv2 = nn.Conv2d(channels // reduction, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = F.adaptive_avg_pool2d(x, 1)
        s = F.hardsigmoid(self.conv2(F.relu(self.conv1(s))))
        return x * s


class LCNetV3Block(nn.Module):
    """Depthwise rep conv (+ optional SE) then pointwise rep conv."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int | tuple[int, int], use_se: bool):
        super().__init__()
        self.dw_conv = RepConv(in_ch, in_ch, kernel, stride, groups=in_ch)
        self.se = SqueezeExcite(in_ch) if use_se else nn.Identity()
        self.pw_conv = RepConv(in_ch, out_ch, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pw_conv(self.se(self.dw_conv(x)))


class PPLCNetV3(nn.Module):
    """PP-LCNetV3 backbone.

    ``det=False`` (recognition, scale 0.95): returns ``[N, C, 1, W/8]`` for ``[N, 3, 48, W]`` input
    (final ``avg_pool(3x2)``). ``det=True`` (scale 0.75): returns the four multi-scale maps at strides
    4, 8, 16, 32, each projected by a 1x1 conv to the widths the FPN expects.
    """

    def __init__(self, scale: float = 0.95, det: bool = False):
        super().__init__()
        self.det = det
        config = NET_CONFIG_DET if det else NET_CONFIG_REC
        stem_ch = make_divisible(16 * scale)
        self.stem = nn.Sequential(nn.Conv2d(3, stem_ch, 3, 2, 1, bias=False), nn.BatchNorm2d(stem_ch))
        self.stages = nn.ModuleList(
            nn.Sequential(*[LCNetV3Block(make_divisible(i * scale), make_divisible(o * scale), k, s, se)
                            for k, i, o, s, se in config[name]])
            for name in ("blocks2", "blocks3", "blocks4", "blocks5", "blocks6")
        )
        stage_out = [make_divisible(config[n][-1][2] * scale) for n in ("blocks3", "blocks4", "blocks5", "blocks6")]
        if det:
            self.out_channels = [int(w * scale) for w in DET_OUT_WIDTHS]
            self.layer_list = nn.ModuleList(nn.Conv2d(c, o, 1) for c, o in zip(stage_out, self.out_channels,
                                                                                strict=True))
        else:
            self.out_channels = stage_out[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor | list[torch.Tensor]:
        x = self.stem(x)
        x = self.stages[0](x)
        feats = []
        for stage in self.stages[1:]:
            x = stage(x)
            feats.append(x)
        if self.det:
            return [conv(f) for conv, f in zip(self.layer_list, feats, strict=True)]
        return F.avg_pool2d(x, (3, 2))
