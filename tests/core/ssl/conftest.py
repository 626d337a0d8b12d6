"""Tiny recognizers and a generated digit-line dataset for the SSL tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from torch import nn

from semiocr.core.models.registry import registered_models


class _Head(nn.Module):
    def __init__(self, dim: int, num_classes: int):
        super().__init__()
        self.fc = nn.Linear(dim, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x)


class TinyCRNN(nn.Module):
    """Conv stack → height pooled away → linear head; ``T = W / stride``. Returns logits ``[N, T, C]``."""

    def __init__(self, num_classes: int, width: int = 16, stride: int = 4):
        super().__init__()
        layers, c_in, s = [], 3, 1
        while s < stride:
            layers += [nn.Conv2d(c_in, width, 3, stride=2, padding=1), nn.BatchNorm2d(width), nn.ReLU()]
            c_in, s = width, s * 2
        layers += [nn.Conv2d(c_in, width, 3, padding=1), nn.ReLU()]
        self.backbone = nn.Sequential(*layers)
        self.head = _Head(width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.backbone(x).mean(dim=2)  # [N, C, T]
        return self.head(f.transpose(1, 2))


class ReadCRNN(nn.Module):
    """Tiny CRNN that can learn to read (``TinyCRNN`` cannot leave CTC's all-blank start in a few hundred
    steps): three conv blocks to a height of 3 (kept as channels, not averaged), a 1-D conv over the frames for
    context, a linear head (``head.fc``, for the dict surgery). 48×W in → ``[N, W/4, C]`` logits."""

    def __init__(self, num_classes: int, width: int = 32):
        super().__init__()

        def block(c_in: int, c_out: int, stride: int | tuple[int, int]) -> list[nn.Module]:
            return [nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1), nn.BatchNorm2d(c_out), nn.ReLU()]

        self.backbone = nn.Sequential(*block(3, 16, 2), *block(16, width, 2), *block(width, width, (2, 1)),
                                      nn.AdaptiveAvgPool2d((3, None)))
        self.seq = nn.Sequential(nn.Conv1d(3 * width, 2 * width, 3, padding=1), nn.ReLU())
        self.head = _Head(2 * width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.backbone(x)
        n, c, h, w = f.shape
        return self.head(self.seq(f.reshape(n, c * h, w)).transpose(1, 2))


MODELS = {"ssl-test-small": lambda num_classes, **kw: TinyCRNN(num_classes, width=12, **kw),
          "ssl-test-large": lambda num_classes, **kw: TinyCRNN(num_classes, width=24, **kw),
          "ssl-read-small": lambda num_classes, **kw: ReadCRNN(num_classes, width=24, **kw),
          "ssl-read-large": lambda num_classes, **kw: ReadCRNN(num_classes, width=32, **kw)}


@pytest.fixture(scope="module", autouse=True)
def ssl_test_models() -> Iterator[None]:
    """The tiny test models (``ssl-test-*``: fast, cannot learn much; ``ssl-read-*``: learn to read generated
    lines) in the model registry for each test module here (module fixtures build them too), removed after it."""
    with registered_models(MODELS):
        yield


def render_digits(text: str, rng: np.random.Generator) -> np.ndarray:
    """A 32 px high line with ``text`` drawn by OpenCV, jittered in position and grey level."""
    img = np.full((32, 16 * len(text) + 16, 3), int(rng.integers(200, 256)), np.uint8)
    org = (int(rng.integers(2, 8)), int(rng.integers(22, 28)))
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, 0.8, (int(rng.integers(0, 60)),) * 3, 2)
    return img


def make_dataset(root: Path, n_lab: int = 24, n_unl: int = 32, n_val: int = 12, seed: int = 0) -> dict[str, str]:
    """Write an MSTextRecLMSSLDataset of 3-digit lines; returns the true labels of the unlabelled pool."""
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True, exist_ok=True)
    truth: dict[str, str] = {}

    def lines(prefix: str, n: int) -> list[tuple[str, str]]:
        out = []
        for i in range(n):
            text = "".join(str(d) for d in rng.integers(0, 10, size=3))
            rel = f"images/{prefix}_{i:03d}.png"
            cv2.imwrite(str(root / rel), render_digits(text, rng))
            out.append((rel, text))
        return out

    for name, prefix, n in (("train.txt", "lab", n_lab), ("val.txt", "val", n_val)):
        (root / name).write_text("".join(f"{r}\t{t}\n" for r, t in lines(prefix, n)), encoding="utf-8")
    unl = lines("unl", n_unl)
    (root / "train_unlabeled.txt").write_text("".join(f"{r}\n" for r, _ in unl), encoding="utf-8")
    truth = dict(unl)
    (root / "dict.txt").write_text("".join(f"{d}\n" for d in "0123456789"), encoding="utf-8")
    return truth


@pytest.fixture
def digit_dataset(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    root = tmp_path / "ds"
    return root, make_dataset(root)
