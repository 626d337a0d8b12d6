"""The supervised recognition task (labelled lines, CTC) and the builder that makes it from a ``rec`` job config."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader

from semiocr.core.augment import get_augment
from semiocr.core.data.hashing import dataset_hash
from semiocr.core.data.labels import DICT_FILE, DatasetError, Sample, read_labelled
from semiocr.core.losses import CTCLoss
from semiocr.core.models.registry import build_model
from semiocr.core.training.config import RecTrainConfig
from semiocr.core.training.loop import seed_everything
from semiocr.core.training.rec_data import (
    RecBatch,
    RecCollate,
    RecDataset,
    filter_samples,
)
from semiocr.core.training.rec_eval import ValidationSet, rec_checkpoint_meta
from semiocr.core.training.sampler import EpochBatchSampler
from semiocr.core.training.task import StepOutput, TaskBase
from semiocr.core.weights.checkpoint import CheckpointMeta
from semiocr.runtime.charset import Charset


class SupervisedRecTask(TaskBase):
    """CTC training on labelled lines; selects ``best`` by exact accuracy on the validation lines (ties: 1 − NED)."""

    selection_metric = "acc"
    tiebreak_metric = "norm_edit"

    def __init__(self, model: nn.Module, charset: Charset, train: Sequence[Sample], val: Sequence[Sample],
                 cfg: RecTrainConfig, data_hash: str | None = None, parent: str | None = None):
        if not train:
            raise DatasetError("no usable training lines")
        self.model, self.charset, self.cfg = model, charset, cfg
        self.train_samples, self.val_samples = list(train), list(val)
        self.data_hash, self.parent = data_hash, parent
        self.loss_fn = CTCLoss()
        self.device = torch.device("cpu")
        self.val = ValidationSet(val, charset, cfg.eval_batch_size, cfg.max_width)

    def setup(self, device: torch.device, rank: int, world_size: int) -> None:
        self.device = device
        self.model.to(device)
        augment = get_augment(self.cfg.augment, self.cfg.rotate_180_aug)
        self.dataset = RecDataset(self.train_samples, augment, seed=self.cfg.seed)
        self.sampler = EpochBatchSampler(len(self.dataset), self.cfg.batch_size, seed=self.cfg.seed,
                                         shuffle=True, drop_last=False, rank=rank, world_size=world_size)
        self.collate = RecCollate(self.charset, max_width=self.cfg.max_width)

    def steps_per_epoch(self) -> int:
        return self.sampler.full_length()

    def train_batches(self, epoch: int, skip: int = 0) -> Iterator[RecBatch]:
        self.sampler.set_epoch(epoch, skip)
        loader = DataLoader(self.dataset, batch_sampler=self.sampler, collate_fn=self.collate,
                            num_workers=self.cfg.workers, pin_memory=self.device.type == "cuda",
                            generator=torch.Generator().manual_seed(self.cfg.seed + epoch))
        for batch in loader:
            yield batch.to(self.device)

    def training_step(self, model: nn.Module, batch: RecBatch) -> StepOutput:
        logits = model(batch.images)
        loss = self.loss_fn(logits, batch.targets, batch.target_lengths)
        return StepOutput(loss=loss, batch_size=len(batch))

    def evaluate(self) -> dict[str, float]:
        return self.val.evaluate(self.eval_module(), self.device, self.should_stop)

    def checkpoint_meta(self) -> CheckpointMeta:
        return rec_checkpoint_meta(self.model, self.charset, "supervised", self.data_hash, self.parent)


def dataset_charset(cfg: RecTrainConfig) -> Charset:
    """The run's charset: ``cfg.dict_file`` or ``<data_dir>/dict.txt``."""
    if cfg.dict_file:
        return Charset.from_file(cfg.dict_file, use_space=cfg.use_space)
    if not cfg.data_dir:
        raise ValueError("config needs data_dir (or dict_file) to know the charset")
    return Charset.from_file(Path(cfg.data_dir) / DICT_FILE, use_space=cfg.use_space)


def build_supervised_task(cfg: RecTrainConfig, log=print) -> SupervisedRecTask:
    """Read the dataset of ``cfg``, seed, build the model and the supervised task (drops unusable lines)."""
    if not cfg.data_dir:
        raise ValueError("config needs data_dir")
    root = Path(cfg.data_dir)
    charset = dataset_charset(cfg)
    train, dropped = filter_samples(read_labelled(root, cfg.train_file), charset, cfg.max_text_length)
    val, dropped_val = filter_samples(read_labelled(root, cfg.val_file), charset, cfg.max_text_length)
    for why in (dropped + dropped_val)[:10]:
        log(f"skipped {why}")
    if dropped or dropped_val:
        log(f"skipped {len(dropped)} training and {len(dropped_val)} validation lines in total")
    seed_everything(cfg.seed)
    model = build_model(cfg.arch, num_classes=charset.num_classes, **cfg.model_kwargs)
    return SupervisedRecTask(model, charset, train, val, cfg, data_hash=dataset_hash(root))
