"""Detection training data: augmented pages with DB targets, batched as a dataclass."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

from semiocr.core.data.detection import DetSampleLike
from semiocr.core.data.images import read_image
from semiocr.core.training.det_augment import DetAugConfig, augment_det
from semiocr.core.training.det_labels import DBLabelConfig, make_db_targets
from semiocr.core.training.det_loss import DBBatchTargets
from semiocr.runtime.det_preprocess import DET_MEAN, DET_STD, normalize


@dataclass
class DetBatch:
    """Normalised images ``[N, 3, S, S]`` and their DB targets ``[N, S, S]``."""

    images: torch.Tensor
    targets: DBBatchTargets
    paths: list[str]

    def to(self, device: torch.device | str) -> DetBatch:
        return DetBatch(self.images.to(device), self.targets.to(device), self.paths)

    def __len__(self) -> int:
        return len(self.paths)


class DetDataset(Dataset):
    """``ds[(index, epoch)]`` → (normalised image ``[3, S, S]``, 4 target maps, path); augmentation is seeded
    by (seed, epoch, index), so a resumed run sees the same views."""

    def __init__(self, samples: Sequence[DetSampleLike], aug: DetAugConfig = DetAugConfig(),
                 labels: DBLabelConfig = DBLabelConfig(), mean: Sequence[float] = DET_MEAN,
                 std: Sequence[float] = DET_STD, seed: int = 0):
        self.samples, self.aug, self.labels = list(samples), aug, labels
        self.mean, self.std, self.seed = tuple(mean), tuple(std), seed

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, key: int | tuple[int, int]) -> tuple[np.ndarray, list[np.ndarray], str]:
        index, epoch = key if isinstance(key, tuple) else (key, 0)
        s = self.samples[index]
        rng = np.random.default_rng([self.seed, epoch, index])
        img, polys, ignore = augment_det(read_image(s.path, s.source), s.polygons, s.ignore, rng, self.aug)
        t = make_db_targets(img.shape[:2], polys, ignore, self.labels)
        maps = [t.shrink_map, t.shrink_mask, t.thresh_map, t.thresh_mask]
        return normalize(img, self.mean, self.std), maps, str(s.path)


def collate_det(items: Sequence[tuple[np.ndarray, list[np.ndarray], str]]) -> DetBatch:
    """Stack dataset items into a :class:`DetBatch`."""
    images = torch.from_numpy(np.stack([it[0] for it in items]))
    maps = [torch.from_numpy(np.stack([it[1][k] for it in items])) for k in range(4)]
    return DetBatch(images, DBBatchTargets(*maps), [it[2] for it in items])
