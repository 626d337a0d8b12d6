"""Mixed batches: labelled samples kept at a fixed share of every batch, the rest from pseudo-labels."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np


class MixedBatchSampler:
    """Yield batches of indices into ``labelled + pseudo`` (labelled first, pseudo offset by ``n_labelled``).

    Each batch holds ``round(batch_size * labelled_share)`` labelled indices (at least 1 when there are
    labelled samples and a pseudo pool) and fills the rest from the pseudo pool. One epoch covers the
    pseudo pool once; the (smaller) labelled set is cycled in fresh permutations. Without pseudo-labels the
    sampler is a plain shuffled labelled sampler. Order is a pure function of ``seed`` and ``epoch``.

    With ``widths`` (one aspect ratio per index) every run of ``bucket_group`` consecutive batches is re-dealt
    so that each batch holds lines of similar width (labelled and pseudo parts sorted separately, so every
    batch keeps its labelled share), and the run's batches are shuffled: a batch is padded to its widest line,
    so datasets of long, varied lines spend much less compute on padding. Each epoch covers the same samples.
    """

    def __init__(self, n_labelled: int, n_pseudo: int, batch_size: int, labelled_share: float = 0.5,
                 seed: int = 0, drop_last: bool = False, widths: Sequence[float] | None = None,
                 bucket_group: int = 16):
        if n_labelled <= 0 and n_pseudo <= 0:
            raise ValueError("MixedBatchSampler needs at least one labelled or pseudo-labelled sample")
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        if not 0.0 <= labelled_share <= 1.0:
            raise ValueError(f"labelled_share must be in [0, 1], got {labelled_share}")
        self.n_labelled, self.n_pseudo = n_labelled, n_pseudo
        self.batch_size, self.labelled_share = batch_size, labelled_share
        self.seed, self.drop_last = seed, drop_last
        if widths is not None and len(widths) != n_labelled + n_pseudo:
            raise ValueError(f"widths has {len(widths)} entries for {n_labelled + n_pseudo} samples")
        self.widths, self.bucket_group = widths, max(1, bucket_group)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    @property
    def labelled_per_batch(self) -> int:
        if self.n_pseudo == 0:
            return self.batch_size
        if self.n_labelled == 0:
            return 0
        k = round(self.batch_size * self.labelled_share)
        return min(self.batch_size - 1, max(1, k)) if self.batch_size > 1 else 1

    def __len__(self) -> int:
        per_pseudo = self.batch_size - self.labelled_per_batch
        n = self.n_labelled if self.n_pseudo == 0 else self.n_pseudo
        per = self.batch_size if self.n_pseudo == 0 else max(per_pseudo, 1)
        return n // per if self.drop_last else math.ceil(n / per)

    def __iter__(self) -> Iterator[list[int]]:
        rng = np.random.default_rng([self.seed, self.epoch])
        batches = self._batches(rng)
        if self.widths is None:
            return iter(batches)
        head = self.labelled_per_batch if self.n_pseudo else 0  # batch positions [0, head) are labelled
        out: list[list[int]] = []
        for g in range(0, len(batches), self.bucket_group):
            out += _by_width(batches[g:g + self.bucket_group], head, self.widths, rng)
        return iter(out)

    def _batches(self, rng: np.random.Generator) -> list[list[int]]:
        k_lab = self.labelled_per_batch
        lab_stream = _Cycler(self.n_labelled, rng)
        if self.n_pseudo == 0:
            parts = _even_parts(rng.permutation(self.n_labelled), len(self), self.batch_size, self.drop_last)
            return [[int(j) for j in part] for part in parts]
        order = rng.permutation(self.n_pseudo) + self.n_labelled
        return [lab_stream.take(k_lab) + [int(j) for j in part] for part in
                _even_parts(order, len(self), max(self.batch_size - k_lab, 1), self.drop_last)]


def _even_parts(order: np.ndarray, n_batches: int, size: int, drop_last: bool) -> list[np.ndarray]:
    """``order`` dealt into ``n_batches`` batches: with ``drop_last`` full batches of ``size`` (the rest waits for
    another epoch), else all of it in sizes that differ by at most one (100 lines in batches of 32: 4 × 25, not
    32 + 32 + 32 + 4, whose tiny last batch would take a full, noisy optimiser step)."""
    if drop_last:
        return [order[i * size:(i + 1) * size] for i in range(n_batches)]
    return list(np.array_split(order, n_batches))


def _by_width(batches: list[list[int]], head: int, widths: Sequence[float], rng: np.random.Generator
              ) -> list[list[int]]:
    """Re-deal ``batches`` so that each holds similar widths: the first ``head`` positions of every batch
    (labelled) and the rest (pseudo) are pooled, sorted by width and dealt back in the same sizes; the
    resulting batches come in random order."""
    parts = [[b[:head] for b in batches], [b[head:] for b in batches]]
    dealt: list[list[list[int]]] = []
    for part in parts:
        pool = sorted((i for p in part for i in p), key=lambda i: widths[i])
        sizes = [len(p) for p in part]
        offsets = np.cumsum([0, *sizes])
        dealt.append([pool[offsets[j]:offsets[j + 1]] for j in range(len(part))])
    out = [lab + pse for lab, pse in zip(*dealt, strict=True)]
    return [out[j] for j in rng.permutation(len(out))]


class _Cycler:
    """Endless stream of indices ``0..n-1`` in fresh random permutations."""

    def __init__(self, n: int, rng: np.random.Generator):
        self.n, self.rng = n, rng
        self.buf: list[int] = []

    def take(self, k: int) -> list[int]:
        out: list[int] = []
        while len(out) < k and self.n > 0:
            if not self.buf:
                self.buf = [int(j) for j in self.rng.permutation(self.n)]
            out.append(self.buf.pop())
        return out
