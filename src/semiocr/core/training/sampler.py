"""The seeded, DDP-aware, resumable batch sampler of supervised recognition and detection training."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import Sampler


class EpochBatchSampler(Sampler[list[tuple[int, int]]]):
    """Seeded, DDP-aware, resumable batch sampler yielding ``[(index, epoch), ...]`` batches.

    The order depends only on (seed, epoch); each rank takes every ``world_size``-th index; ``skip`` drops
    the first batches of the epoch (mid-epoch resume). Call ``set_epoch`` before each epoch.
    """

    def __init__(self, num_samples: int, batch_size: int, seed: int = 0, shuffle: bool = True,
                 drop_last: bool = False, rank: int = 0, world_size: int = 1):
        if num_samples < 1:
            raise ValueError("EpochBatchSampler needs at least one sample")
        self.num_samples, self.batch_size, self.seed = num_samples, batch_size, seed
        self.shuffle, self.drop_last, self.rank, self.world_size = shuffle, drop_last, rank, world_size
        self.epoch, self.skip = 0, 0

    def set_epoch(self, epoch: int, skip: int = 0) -> None:
        self.epoch, self.skip = epoch, skip

    def _rank_indices(self) -> list[int]:
        if self.shuffle:
            g = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
            order = torch.randperm(self.num_samples, generator=g).tolist()
        else:
            order = list(range(self.num_samples))
        total = -(-self.num_samples // self.world_size) * self.world_size
        order += order[: total - len(order)]
        return order[self.rank::self.world_size]

    def full_length(self) -> int:
        """Batches per epoch for this rank, ignoring ``skip``."""
        n = -(-self.num_samples // self.world_size)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        idx = self._rank_indices()
        n_batches = self.full_length()
        # without drop_last the batches' sizes differ by at most one (100 lines in batches of 32: 4 × 25), so no
        # tiny last batch takes a full, noisy optimiser step
        n = n_batches * self.batch_size if self.drop_last else len(idx)
        base, extra = divmod(n, max(n_batches, 1))
        for b in range(self.skip, n_batches):
            start = b * base + min(b, extra)
            yield [(i, self.epoch) for i in idx[start:start + base + (b < extra)]]

    def __len__(self) -> int:
        return max(0, self.full_length() - self.skip)
