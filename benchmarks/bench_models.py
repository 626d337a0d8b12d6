"""CPU-sized CRNN recognizers for the SSL benchmark's CPU preset (``bench-crnn-l`` teacher, ``bench-crnn-s``
student). Both emit ``T = W / 4`` frames so frame-level distillation applies. Logits ``[N, T, C]``; the classifier
is ``model.head.fc`` like every recognizer of the project."""

from __future__ import annotations

import torch
from torch import nn

from semiocr.core.models.registry import _BUILDERS, register_model


def _block(c_in: int, c_out: int, pool: tuple[int, int]) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
            nn.MaxPool2d(pool, pool)]


class _Head(nn.Module):
    def __init__(self, dim: int, num_classes: int):
        super().__init__()
        self.fc = nn.Linear(dim, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x)


class BenchCRNN(nn.Module):
    """4 conv blocks (H 48 → 3, W → W/4), height averaged away, one BiLSTM, linear CTC head."""

    def __init__(self, num_classes: int, widths: tuple[int, int, int, int] = (32, 64, 128, 128), hidden: int = 96,
                 dropout: float = 0.1):
        super().__init__()
        a, b, c, d = widths
        self.backbone = nn.Sequential(*_block(3, a, (2, 2)), *_block(a, b, (2, 2)), *_block(b, c, (2, 1)),
                                      *_block(c, d, (2, 1)))
        self.rnn = nn.LSTM(d, hidden, batch_first=True, bidirectional=True)
        self.drop = nn.Dropout(dropout)
        self.head = _Head(2 * hidden, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.backbone(x).mean(dim=2).transpose(1, 2)  # [N, T, C]
        f, _ = self.rnn(f)
        return self.head(self.drop(f))


def register() -> None:
    """Register the two benchmark models (idempotent)."""
    if "bench-crnn-l" in _BUILDERS:
        return
    register_model("bench-crnn-l")(lambda num_classes, **kw: BenchCRNN(num_classes, (48, 96, 192, 192), 128, **kw))
    register_model("bench-crnn-s")(lambda num_classes, **kw: BenchCRNN(num_classes, (16, 32, 48, 48), 48, **kw))
