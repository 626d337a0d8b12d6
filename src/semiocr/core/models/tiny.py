"""Tiny recognition presets for tests and quick experiments (random init, fast on CPU).

Same contract as the real models: input ``[N, 3, 48, W]``, logits ``[N, W/8, C]``, classifier at ``head.fc``.
"""

from __future__ import annotations

import torch
from torch import nn

from semiocr.core.models.heads import CTCHead
from semiocr.core.models.registry import register_model


def _conv_bn(cin: int, cout: int, stride: tuple[int, int]) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class TinyRecognizer(nn.Module):
    """Three stride-2 conv blocks (H 48→6, W→W/8), height pooling, a BiLSTM or transformer, CTC head."""

    def __init__(self, num_classes: int, channels: tuple[int, int, int] = (16, 32, 64), hidden: int = 48,
                 sequence: str = "lstm"):
        super().__init__()
        c1, c2, c3 = channels
        self.backbone = nn.Sequential(_conv_bn(3, c1, (2, 2)), _conv_bn(c1, c2, (2, 2)), _conv_bn(c2, c3, (2, 2)),
                                      _conv_bn(c3, c3, (1, 1)))
        self.sequence = sequence
        if sequence == "lstm":
            self.neck = nn.LSTM(c3, hidden, batch_first=True, bidirectional=True)
            out = 2 * hidden
        elif sequence == "transformer":
            layer = nn.TransformerEncoderLayer(c3, nhead=4, dim_feedforward=2 * c3, dropout=0.0, batch_first=True)
            self.neck = nn.TransformerEncoder(layer, num_layers=1, enable_nested_tensor=False)
            out = c3
        else:
            raise ValueError(f"sequence must be 'lstm' or 'transformer', got {sequence!r}")
        self.head = CTCHead(out, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.backbone(x).mean(dim=2).transpose(1, 2)  # [N, W/8, C]
        f = self.neck(f)[0] if self.sequence == "lstm" else self.neck(f)
        return self.head(f)


@register_model("rec-tiny")
def rec_tiny(num_classes: int, **kw) -> nn.Module:
    """Conv + one transformer layer toy recognizer (~100k parameters; learns generated digits in ~200 steps)."""
    return TinyRecognizer(num_classes, sequence="transformer", **kw)


@register_model("rec-tiny-lstm")
def rec_tiny_lstm(num_classes: int, **kw) -> nn.Module:
    """Conv + BiLSTM toy recognizer (CRNN-style; converges slower than ``rec-tiny``)."""
    return TinyRecognizer(num_classes, sequence="lstm", **kw)
