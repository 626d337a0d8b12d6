"""Recognition training data: a torch Dataset over ``Sample`` lists, a seeded resumable batch sampler, and
the collate that pads each batch to its own width with the one preprocessing (``core/preprocess.py``).

Augmentation randomness is derived from (seed, epoch, sample index), never from worker state, so an epoch
is identical with any number of workers and after a resume.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

from semiocr.core.augment import Augment
from semiocr.core.data.images import read_image
from semiocr.core.data.labels import Sample
from semiocr.runtime.charset import Charset
from semiocr.runtime.rec_preprocess import REC_HEIGHT, preprocess_batch


def filter_samples(samples: Sequence[Sample], charset: Charset, max_text_length: int) -> tuple[list[Sample], list[str]]:
    """Keep samples whose label the charset encodes and that fit ``max_text_length``; say why others go."""
    kept, dropped = [], []
    for s in samples:
        if s.text is not None and (missing := charset.missing(s.text)):
            dropped.append(f"{s.source}: characters {''.join(missing)!r} are not in the dict")
        elif s.text is not None and len(s.text) > max_text_length:
            dropped.append(f"{s.source}: label has {len(s.text)} characters > max_text_length {max_text_length}")
        else:
            kept.append(s)
    return kept, dropped


@dataclass
class RecBatch:
    """A collated batch: images ``[N,3,48,W]``, concatenated CTC targets, texts and paths."""

    images: torch.Tensor
    targets: torch.Tensor
    target_lengths: torch.Tensor
    texts: list[str | None]
    paths: list[str]

    def to(self, device: torch.device | str) -> RecBatch:
        return RecBatch(self.images.to(device, non_blocking=True), self.targets.to(device),
                        self.target_lengths.to(device), self.texts, self.paths)

    def __len__(self) -> int:
        return len(self.paths)


class RecDataset(Dataset):
    """Recognition lines; ``ds[(index, epoch)]`` (or ``ds[index]``) → ``(image, text, path)``."""

    def __init__(self, samples: Sequence[Sample], augment: Augment | None = None, seed: int = 0):
        self.samples = list(samples)
        self.augment = augment
        self.seed = seed

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, key: int | tuple[int, int]) -> tuple[np.ndarray, str | None, str]:
        index, epoch = key if isinstance(key, tuple) else (key, 0)
        s = self.samples[index]
        img = read_image(s.path, s.source)
        if self.augment is not None:
            rng = np.random.default_rng([self.seed, epoch, index])
            img = self.augment(img, rng)
        return img, s.text, str(s.path)


class RecCollate:
    """Collate ``(image, text, path)`` items into a ``RecBatch`` (texts encoded with ``charset``)."""

    def __init__(self, charset: Charset, max_width: int | None = None, height: int = REC_HEIGHT):
        self.charset = charset
        self.max_width = max_width
        self.height = height

    def __call__(self, items: Sequence[tuple[np.ndarray, str | None, str]]) -> RecBatch:
        images = preprocess_batch([it[0] for it in items], height=self.height, max_width=self.max_width)
        codes = [self.charset.encode(it[1]) if it[1] is not None else [] for it in items]
        return RecBatch(
            images=torch.from_numpy(images),
            targets=torch.tensor([c for cs in codes for c in cs], dtype=torch.long),
            target_lengths=torch.tensor([len(cs) for cs in codes], dtype=torch.long),
            texts=[it[1] for it in items],
            paths=[it[2] for it in items],
        )
