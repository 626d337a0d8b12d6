"""What the SSL stage tasks share: mixed labelled/pseudo batches, augmentation, EMA, weighted CTC, evaluation.

Built on the engine's pieces: ``RecDataset`` / ``RecCollate`` (the one preprocessing), ``core/augment.py``
policies, ``CTCLoss``, ``Recognizer`` + ``rec_metrics`` for validation, ``TaskBase`` for the loop protocol.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from semiocr.core.augment import get_augment
from semiocr.core.data.images import image_size
from semiocr.core.data.labels import Sample
from semiocr.core.losses import CTCLoss
from semiocr.core.ssl.config import LmsslConfig
from semiocr.core.ssl.ema import ModelEMA
from semiocr.core.ssl.pseudo_label import PseudoLabel
from semiocr.core.ssl.sampler import MixedBatchSampler
from semiocr.core.training.rec_data import RecBatch, RecCollate, RecDataset
from semiocr.core.training.rec_eval import ValidationSet, rec_checkpoint_meta
from semiocr.core.training.task import StepOutput, TaskBase
from semiocr.core.weights.checkpoint import CheckpointMeta
from semiocr.runtime.charset import Charset


@dataclass
class TaskData:
    """Data and preprocessing settings shared by every stage task."""

    charset: Charset
    labelled: list[Sample]
    val: list[Sample]
    batch_size: int = 32
    eval_batch_size: int = 64
    max_width: int | None = None
    labelled_aug: str = "weak"
    pseudo_aug: str = "strong"
    data_hash: str | None = None
    bucket_by_width: bool = False  # batches of similar line width (less padding; see MixedBatchSampler)
    selection_metric: str = "acc"  # val metric that picks a stage's best weights: "acc" or "norm_edit"
    rotate_180_aug: float = 0.0  # probability of turning a training line by 180° (label unchanged)

    @classmethod
    def for_run(cls, cfg: LmsslConfig, charset: Charset, labelled: list[Sample], val: list[Sample], batch_size: int,
                labelled_aug: str, pseudo_aug: str, data_hash: str | None) -> TaskData:
        """The data of one stage of the run ``cfg``: the run-wide settings (``cfg.data``, selection metric) filled
        in, the stage's own (samples, batch size, augmentation policies) given."""
        d = cfg.data
        return cls(charset, labelled, val, batch_size, d.eval_batch_size, d.max_width, labelled_aug, pseudo_aug,
                   data_hash, d.bucket_by_width, cfg.selection_metric, d.rotate_180_aug)


def tiebreak_metric(selection_metric: str) -> str:
    """The validation metric that breaks ties of ``selection_metric``: the other of exact match and 1 − NED."""
    return "norm_edit" if selection_metric == "acc" else "acc"


def selection_score(metrics: Mapping[str, float], key: str = "acc") -> tuple[float, float]:
    """Sort key of validation metrics: ``key`` (exact match or 1 − NED), then its tie-break metric; a missing
    metric counts as −∞."""
    return metrics.get(key, float("-inf")), metrics.get(tiebreak_metric(key), float("-inf"))


@dataclass
class MixedBatch:
    """A supervised batch plus per-sample loss weights (1 for labelled, ``pseudo_weight`` for pseudo-labels)."""

    batch: RecBatch
    weights: torch.Tensor

    def __len__(self) -> int:
        return len(self.batch)


def pseudo_samples(pseudo: Sequence[PseudoLabel]) -> list[Sample]:
    """Pseudo-labels as labelled ``Sample``s."""
    return [Sample(p.path, p.text, f"pseudo-label {p.path.name} ({p.confidence:.3f})") for p in pseudo]


class RecTaskBase(TaskBase):
    """Recognition on labelled ∪ pseudo-labelled samples (fixed labelled share per batch), optional EMA.

    Subclasses add loss terms in ``extra_loss``. With no pseudo-labels this is plain supervised training
    (the warm-up stages and the baselines).
    """

    task_name = "ssl"

    def __init__(self, model: nn.Module, data: TaskData, pseudo: Sequence[PseudoLabel] = (),
                 labelled_share: float = 0.5, pseudo_weight: float = 1.0, ema_decay: float | None = None,
                 ema_warmup_steps: int = 0, seed: int = 0, parent: str | None = None):
        self.model, self.data, self.seed, self.parent = model, data, seed, parent
        # best weights by ``data.selection_metric``; ties broken by the other of exact match and 1 − NED
        self.selection_metric = data.selection_metric
        self.tiebreak_metric = tiebreak_metric(data.selection_metric)
        self.pseudo = list(pseudo)
        self._check_charset()
        self.pseudo_weight = pseudo_weight
        self.labelled_ds = RecDataset(data.labelled, get_augment(data.labelled_aug, data.rotate_180_aug), seed=seed)
        self.pseudo_ds = RecDataset(pseudo_samples(self.pseudo), get_augment(data.pseudo_aug, data.rotate_180_aug),
                                    seed=seed + 1)
        widths = None
        if data.bucket_by_width:
            widths = [w / max(h, 1) for w, h in map(image_size, [s.path for s in data.labelled]
                                                     + [p.path for p in self.pseudo])]
        self.sampler = MixedBatchSampler(len(data.labelled), len(self.pseudo), data.batch_size, labelled_share,
                                         seed=seed, widths=widths)
        self.collate = RecCollate(data.charset, max_width=data.max_width)
        self.loss_fn = CTCLoss(reduction="none")
        self.ema = ModelEMA(model, ema_decay, ema_warmup_steps) if ema_decay else None
        self.device, self.rank, self.world_size = torch.device("cpu"), 0, 1
        self.val = ValidationSet(data.val, data.charset, data.eval_batch_size, data.max_width)

    def _check_charset(self) -> None:
        for s in [*self.data.labelled, *self.data.val]:
            if self.data.charset.missing(s.text or ""):
                raise ValueError(f"{s.source}: label {s.text!r} has characters not in the charset")
        for p in self.pseudo:
            if self.data.charset.missing(p.text):
                raise ValueError(f"pseudo-label for {p.path} has characters not in the charset: {p.text!r}")

    # -- loop protocol: data ------------------------------------------------------------------------
    def setup(self, device: torch.device, rank: int, world_size: int) -> None:
        self.device, self.rank, self.world_size = torch.device(device), rank, world_size
        self.model.to(self.device)
        if self.ema is not None:
            self.ema.module.to(self.device)

    def steps_per_epoch(self) -> int:
        return len(self.sampler) // self.world_size

    def aux_models(self) -> list[nn.Module]:
        return [self.ema.module] if self.ema is not None else []

    def train_batches(self, epoch: int, skip: int = 0) -> Iterator[Any]:
        self.sampler.set_epoch(epoch)
        n_lab = len(self.data.labelled)
        mine = list(self.sampler)[self.rank::self.world_size][:self.steps_per_epoch()]
        for b, idx in enumerate(mine[skip:], start=skip):
            items = [self.labelled_ds[(j, epoch)] if j < n_lab else self.pseudo_ds[(j - n_lab, epoch)] for j in idx]
            weights = torch.tensor([1.0 if j < n_lab else self.pseudo_weight for j in idx])
            yield self.make_batch(MixedBatch(self.collate(items).to(self.device), weights.to(self.device)), epoch, b)

    def make_batch(self, mixed: MixedBatch, epoch: int, index: int) -> Any:
        """Hook for subclasses that add to the batch (e.g. unlabelled views)."""
        return mixed

    # -- loop protocol: training --------------------------------------------------------------------
    def supervised_loss(self, model: nn.Module, mixed: MixedBatch) -> tuple[torch.Tensor, torch.Tensor]:
        """(weighted mean CTC loss, logits) of a mixed batch."""
        b = mixed.batch
        logits = model(b.images)
        per = self.loss_fn(logits, b.targets, b.target_lengths)
        return (per * mixed.weights).sum() / mixed.weights.sum().clamp_min(1e-6), logits

    def training_step(self, model: nn.Module, batch: Any) -> StepOutput:
        mixed = batch if isinstance(batch, MixedBatch) else batch.sup
        loss, logits = self.supervised_loss(model, mixed)
        logs = {"ctc": float(loss.detach())}
        extra = self.extra_loss(model, batch, logits, logs)
        if extra is not None:
            loss = loss + extra
        return StepOutput(loss=loss, logs=logs, batch_size=len(mixed))

    def extra_loss(self, model: nn.Module, batch: Any, logits: torch.Tensor, logs: dict[str, float]
                   ) -> torch.Tensor | None:
        """Additional loss terms of a stage (none here)."""
        return None

    def after_optimizer_step(self, step: int) -> None:
        if self.ema is not None:
            self.ema.update(self.model)

    # -- loop protocol: evaluation and checkpoints --------------------------------------------------
    def eval_module(self) -> nn.Module:
        return self.ema.module if self.ema is not None else self.model

    def evaluate(self) -> dict[str, float]:
        return self.val.evaluate(self.eval_module(), self.device, self.should_stop)

    def checkpoint_meta(self) -> CheckpointMeta:
        return rec_checkpoint_meta(self.model, self.data.charset, self.task_name, self.data.data_hash, self.parent,
                                   pseudo_labels=len(self.pseudo))

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
