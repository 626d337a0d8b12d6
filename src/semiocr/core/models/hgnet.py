"""PP-HGNet backbone (PP-HGNet-small is the backbone of PP-OCRv4-server-rec), written from its published structure.

Structure: a stem of three 3x3 conv-BN-ReLU (the first with stride 2), then four stages. Each stage starts
with a depth-wise 3x3 conv-BN (no activation) that downsamples with an asymmetric stride, followed by HG
blocks. An HG block runs ``layer_num`` 3x3 conv-BN-ReLU layers in a chain, concatenates the input with every
layer's output, aggregates them with a 1x1 conv-BN-ReLU and re-weights channels with an ESE attention
(global average → 1x1 conv → sigmoid); all but the first block of a stage add a residual.

For recognition (input height 48) the strides take ``[N, 3, 48, W]`` to ``[N, C, 3, W/4]``; a final 3x2
average pool gives ``[N, C, 1, W/8]`` (PaddleOCR pools to a fixed 40 columns in training, which is the same
thing at W = 320; pooling with the fixed kernel keeps T = W/8 for every width).

For detection (``det=True``, as PaddleOCR's ``PPHGNet_small(det=True)`` in PP-OCRv4-server-det) the stem is
followed by a 3x3 stride-2 max pool, the first stage does not downsample and the other three halve both sides,
and the net returns the four stage outputs at strides 4/8/16/32 (``out_channels`` is then their list).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# in, mid, out, blocks, downsample, stride
StageSpec = tuple[int, int, int, int, bool, tuple[int, int]]

HGNET_SMALL_REC: dict[str, object] = {
    "stem": (64, 64, 128),
    "layer_num": 6,
    "stages": (
        (128, 128, 256, 1, True, (2, 1)),
        (256, 160, 512, 1, True, (1, 2)),
        (512, 192, 768, 2, True, (2, 1)),
        (768, 224, 1024, 1, True, (2, 1)),
    ),
}

HGNET_SMALL_DET: dict[str, object] = {
    "stem": (64, 64, 128),
    "layer_num": 6,
    "stages": (
        (128, 128, 256, 1, False, (2, 2)),
        (256, 160, 512, 1, True, (2, 2)),
        (512, 192, 768, 2, True, (2, 2)),
        (768, 224, 1024, 1, True, (2, 2)),
    ),
}


class ConvBNAct(nn.Module):
    """Conv (no bias, 'same' padding) + BatchNorm + optional ReLU."""

    def __init__(self, cin: int, cout: int, kernel: int = 3, stride: int | tuple[int, int] = 1, groups: int = 1,
                 act: bool = True):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride, padding=(kernel - 1) // 2, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.act = nn.ReLU(inplace=True) if act else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)))


class ESE(nn.Module):
    """Effective squeeze-excitation: ``x * sigmoid(conv1x1(avgpool(x)))``."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(self.conv(x.mean(dim=(2, 3), keepdim=True)))


class HGBlock(nn.Module):
    """Chain of ``layer_num`` convs, concatenation with the input, 1x1 aggregation, ESE, optional residual."""

    def __init__(self, cin: int, mid: int, cout: int, layer_num: int, identity: bool):
        super().__init__()
        self.identity = identity
        self.layers = nn.ModuleList(ConvBNAct(cin if i == 0 else mid, mid) for i in range(layer_num))
        self.aggregation_conv = ConvBNAct(cin + layer_num * mid, cout, kernel=1)
        self.att = ESE(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = [x]
        y = x
        for layer in self.layers:
            y = layer(y)
            feats.append(y)
        y = self.att(self.aggregation_conv(torch.cat(feats, dim=1)))
        return y + x if self.identity else y


class HGStage(nn.Module):
    """Depth-wise strided downsampling conv, then ``blocks`` HG blocks."""

    def __init__(self, spec: StageSpec, layer_num: int):
        super().__init__()
        cin, mid, cout, blocks, downsample, stride = spec
        self.downsample = ConvBNAct(cin, cin, 3, tuple(stride), groups=cin, act=False) if downsample else None
        self.blocks = nn.Sequential(*(HGBlock(cin if i == 0 else cout, mid, cout, layer_num, identity=i > 0)
                                      for i in range(blocks)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.downsample is not None:
            x = self.downsample(x)
        return self.blocks(x)


class PPHGNet(nn.Module):
    """PP-HGNet.

    ``det=False``: recognition, ``[N, 3, 48, W]`` → ``[N, out_channels, 1, W/8]``. ``det=True``: detection,
    ``[N, 3, H, W]`` → the list of the four stage outputs (strides 4/8/16/32 with ``HGNET_SMALL_DET`` stages).
    """

    def __init__(self, stem: tuple[int, ...], stages: tuple[StageSpec, ...], layer_num: int, det: bool = False):
        super().__init__()
        chans = (3, *stem)
        self.det = det
        self.stem = nn.Sequential(*(ConvBNAct(chans[i], chans[i + 1], 3, 2 if i == 0 else 1)
                                    for i in range(len(stem))))
        self.pool = nn.MaxPool2d(3, 2, padding=1) if det else None
        self.stages = nn.ModuleList(HGStage(s, layer_num) for s in stages)
        self.out_channels: int | list[int] = [s[2] for s in stages] if det else stages[-1][2]
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor | list[torch.Tensor]:
        x = self.stem(x)
        if self.pool is not None:
            x = self.pool(x)
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        return feats if self.det else F.avg_pool2d(x, (3, 2))


def pphgnet_small() -> PPHGNet:
    """PP-HGNet-small, recognition strides (as in PP-OCRv4-server-rec); output 1024 channels."""
    cfg = HGNET_SMALL_REC
    return PPHGNet(cfg["stem"], cfg["stages"], cfg["layer_num"])  # type: ignore[arg-type]


def pphgnet_small_det() -> PPHGNet:
    """PP-HGNet-small, detection strides (as in PP-OCRv4-server-det); outputs 256/512/768/1024 channels."""
    cfg = HGNET_SMALL_DET
    return PPHGNet(cfg["stem"], cfg["stages"], cfg["layer_num"], det=True)  # type: ignore[arg-type]
