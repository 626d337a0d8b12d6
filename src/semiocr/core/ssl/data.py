"""Recognition batches for the SSL stage tasks: image cache, batch dataclass, collation.

Uses the one preprocessing (``core/preprocess.py``): every batch is ``[N, 3, 48, W]``, padded to the widest
image (at least ``min_width``, at most ``max_width``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from semiocr.core.charset import Charset
from semiocr.core.preprocess import REC_HEIGHT, batch_width, ensure_bgr_uint8, resize_norm

Augment = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def load_image(path: Path) -> np.ndarray:
    """Read an image as BGR uint8; unreadable files raise ``FileNotFoundError`` naming the path."""
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise FileNotFoundError(f"{path}: image is missing or cannot be decoded")
    return ensure_bgr_uint8(img)


class ImageStore:
    """Decoded images kept in memory (recognition crops are small), keyed by path."""

    def __init__(self) -> None:
        self._cache: dict[Path, np.ndarray] = {}

    def get(self, path: Path) -> np.ndarray:
        img = self._cache.get(path)
        if img is None:
            img = self._cache[path] = load_image(path)
        return img


@dataclass
class RecBatch:
    """A recognition batch: images, CTC targets (concatenated), their lengths, texts and content widths."""

    x: torch.Tensor  # [N, 3, 48, W]
    targets: torch.Tensor  # [sum(lengths)] int64 class indices
    target_lengths: torch.Tensor  # [N] int64
    texts: list[str]
    widths: torch.Tensor  # [N] int64: resized content width before right padding
    weights: torch.Tensor | None = None  # [N] per-sample loss weights (1.0 labelled; pseudo may differ)

    def to(self, device: torch.device | str) -> RecBatch:
        self.x = self.x.to(device, non_blocking=True)
        self.targets = self.targets.to(device)
        self.target_lengths = self.target_lengths.to(device)
        self.widths = self.widths.to(device)
        if self.weights is not None:
            self.weights = self.weights.to(device)
        return self

    def __len__(self) -> int:
        return len(self.texts)


def images_to_tensor(images: Sequence[np.ndarray], min_width: int, max_width: int | None
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """Preprocess images into ``[N, 3, 48, W]`` plus each image's content width (before padding)."""
    width = batch_width(images, REC_HEIGHT, min_width, max_width)
    x = np.stack([resize_norm(img, width) for img in images])
    widths = [min(width, max(1, int(np.ceil(REC_HEIGHT * im.shape[1] / max(im.shape[0], 1))))) for im in images]
    return torch.from_numpy(x), torch.tensor(widths, dtype=torch.long)


def collate(images: Sequence[np.ndarray], texts: Sequence[str], charset: Charset, min_width: int,
            max_width: int | None, weights: Sequence[float] | None = None) -> RecBatch:
    """Build a ``RecBatch``; texts must be encodable by ``charset`` (checked before training starts)."""
    x, widths = images_to_tensor(images, min_width, max_width)
    encoded = [charset.encode(t) for t in texts]
    targets = torch.tensor([i for e in encoded for i in e], dtype=torch.long)
    lengths = torch.tensor([len(e) for e in encoded], dtype=torch.long)
    w = torch.tensor(list(weights), dtype=torch.float32) if weights is not None else None
    return RecBatch(x, targets, lengths, list(texts), widths, w)


def frame_mask(widths: torch.Tensor, input_width: int, num_frames: int) -> torch.Tensor:
    """``[N, T]`` bool: frames whose receptive centre falls on image content (not right padding)."""
    centres = (torch.arange(num_frames, device=widths.device, dtype=torch.float32) + 0.5) * input_width / num_frames
    mask = centres[None, :] < widths[:, None].float()
    mask[:, 0] = True
    return mask
