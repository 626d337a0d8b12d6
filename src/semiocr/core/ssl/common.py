"""What the SSL stage tasks share: mixed labelled/pseudo batches, augmentation, EMA, CTC loss, evaluation."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from rapidfuzz.distance import Levenshtein
from torch import nn

from semiocr.core.charset import Charset
from semiocr.core.data.labels import Sample
from semiocr.core.ssl.augment import get_augment
from semiocr.core.ssl.data import Augment, ImageStore, RecBatch, collate
from semiocr.core.ssl.ema import ModelEMA
from semiocr.core.ssl.pseudo_label import PseudoLabel, predict
from semiocr.core.ssl.sampler import MixedBatchSampler
from semiocr.core.training.task import StepOutput


def ctc_loss(logits: torch.Tensor, batch: RecBatch) -> torch.Tensor:
    """Mean (optionally per-sample weighted) CTC loss of logits ``[N, T, C]``; impossible alignments give 0."""
    log_probs = F.log_softmax(logits.float(), dim=-1).transpose(0, 1)  # [T, N, C]
    n, t = logits.shape[0], logits.shape[1]
    input_lengths = torch.full((n,), t, dtype=torch.long, device=logits.device)
    per = F.ctc_loss(log_probs, batch.targets, input_lengths, batch.target_lengths, blank=0,
                     reduction="none", zero_infinity=True)
    if batch.weights is not None:
        return (per * batch.weights).sum() / batch.weights.sum().clamp_min(1e-6)
    return per.mean()


def recognition_metrics(preds: Sequence[str], truths: Sequence[str]) -> dict[str, float]:
    """Exact-match accuracy and 1 − mean normalised edit distance."""
    if not truths:
        return {"acc": 0.0, "norm_edit": 0.0}
    acc = float(np.mean([p == t for p, t in zip(preds, truths, strict=True)]))
    ned = float(np.mean([Levenshtein.normalized_distance(p, t) for p, t in zip(preds, truths, strict=True)]))
    return {"acc": acc, "norm_edit": 1.0 - ned}


@dataclass
class TaskData:
    """Data and preprocessing settings shared by every stage task."""

    charset: Charset
    labelled: list[Sample]
    val: list[Sample]
    min_width: int = 320
    max_width: int | None = None
    batch_size: int = 32
    eval_batch_size: int = 64
    labelled_aug: str = "weak"
    pseudo_aug: str = "strong"
    store: ImageStore | None = None


class RecTaskBase:
    """Supervised recognition on labelled ∪ pseudo-labelled samples (mixed batches), with optional EMA.

    Subclasses add their extra loss terms in ``extra_loss``. With no pseudo-labels this is plain
    supervised training (the warm-up stage and the baselines).
    """

    selection_metric = "acc"

    def __init__(self, model: nn.Module, data: TaskData, pseudo: Sequence[PseudoLabel] = (),
                 labelled_share: float = 0.5, pseudo_weight: float = 1.0, ema_decay: float | None = None,
                 ema_warmup_steps: int = 0, device: str | torch.device = "cpu", seed: int = 0):
        self.model = model.to(device)
        self.data, self.device, self.seed = data, torch.device(device), seed
        self.data.store = data.store or ImageStore()
        self.pseudo = list(pseudo)
        self.pseudo_weight = pseudo_weight
        self.sampler = MixedBatchSampler(len(data.labelled), len(self.pseudo), data.batch_size, labelled_share,
                                         seed=seed)
        self.aug_labelled: Augment | None = get_augment(data.labelled_aug)
        self.aug_pseudo: Augment | None = get_augment(data.pseudo_aug)
        self.ema = ModelEMA(self.model, ema_decay, ema_warmup_steps) if ema_decay else None
        self._check_charset()

    def _check_charset(self) -> None:
        for s in [*self.data.labelled, *self.data.val]:
            missing = self.data.charset.missing(s.text or "")
            if missing:
                raise ValueError(f"{s.source}: label {s.text!r} has characters not in the charset: {missing}")
        for p in self.pseudo:
            if self.data.charset.missing(p.text):
                raise ValueError(f"pseudo-label for {p.path} has characters not in the charset: {p.text!r}")

    # -- data ---------------------------------------------------------------------------------------
    def _item(self, j: int, rng: np.random.Generator) -> tuple[np.ndarray, str, float]:
        n_lab = len(self.data.labelled)
        if j < n_lab:
            s = self.data.labelled[j]
            img, text, w, aug = self.data.store.get(s.path), s.text or "", 1.0, self.aug_labelled
        else:
            p = self.pseudo[j - n_lab]
            img, text, w, aug = self.data.store.get(p.path), p.text, self.pseudo_weight, self.aug_pseudo
        return (aug(img, rng) if aug else img), text, w

    def train_batches(self, epoch: int) -> Iterable[Any]:
        self.sampler.set_epoch(epoch)
        rng = np.random.default_rng([self.seed, epoch, 1])
        return self._iter_batches(rng)

    def _iter_batches(self, rng: np.random.Generator) -> Iterator[Any]:
        for idx in self.sampler:
            items = [self._item(j, rng) for j in idx]
            yield collate([i[0] for i in items], [i[1] for i in items], self.data.charset, self.data.min_width,
                          self.data.max_width, [i[2] for i in items])

    def __len__(self) -> int:
        return len(self.sampler)

    # -- training -----------------------------------------------------------------------------------
    def training_step(self, model: nn.Module, batch: Any) -> StepOutput:
        batch = batch.to(self.device)
        logits = model(batch.x)
        loss = ctc_loss(logits, batch)
        logs = {"ctc": float(loss.detach())}
        extra = self.extra_loss(batch, logits, logs)
        if extra is not None:
            loss = loss + extra
        return StepOutput(loss=loss, logs=logs, batch_size=len(batch))

    def extra_loss(self, batch: Any, logits: torch.Tensor, logs: dict[str, float]) -> torch.Tensor | None:
        """Additional loss terms of a stage (none here)."""
        return None

    def after_optimizer_step(self, step: int) -> None:
        if self.ema is not None:
            self.ema.update(self.model)

    # -- evaluation ---------------------------------------------------------------------------------
    def eval_module(self) -> nn.Module:
        return self.ema.module if self.ema is not None else self.model

    def evaluate(self) -> dict[str, float]:
        preds = predict(self.eval_module(), [s.path for s in self.data.val], self.data.charset,
                        self.data.eval_batch_size, self.device, self.data.min_width, self.data.max_width,
                        self.data.store)
        return recognition_metrics([p.text for p in preds], [s.text or "" for s in self.data.val])

    # -- resume -------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {"ema": self.ema.state_dict() if self.ema is not None else None}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if self.ema is not None and state.get("ema") is not None:
            self.ema.load_state_dict(state["ema"])


def freeze(model: nn.Module) -> nn.Module:
    """Put ``model`` in eval mode with gradients off (a teacher)."""
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def sample_paths(samples: Sequence[Sample]) -> list[Path]:
    return [s.path for s in samples]
