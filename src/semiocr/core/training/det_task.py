"""Detection training through the generic loop: ``DetTrainConfig``, ``DetTrainTask``, ``build_det_task``.

The task trains any DB model (train-mode output ``[N, 3, H, W]``: probability, threshold, binary) on
PaddleOCR ``Label.txt`` files with the DB loss, and selects ``best`` by the ICDAR 2015 Hmean of the full
inference path (``TextDetector``: RapidOCR-compatible resize + DB postprocess) on the validation pages.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from semiocr.core.data.detection import DetSampleLike
from semiocr.core.data.images import read_image
from semiocr.core.eval.detection import aggregate, evaluate_image
from semiocr.core.events import check_stop
from semiocr.core.inference.detector import TextDetector
from semiocr.core.models.registry import build_model
from semiocr.core.training.config import DetTrainConfig
from semiocr.core.training.det_augment import DetAugConfig
from semiocr.core.training.det_data import DetBatch, DetDataset, collate_det
from semiocr.core.training.det_loss import DBLoss
from semiocr.core.training.sampler import EpochBatchSampler
from semiocr.core.training.task import StepOutput, TaskBase
from semiocr.core.weights.checkpoint import CheckpointMeta, det_input_spec
from semiocr.runtime.det_postprocess import DBPostprocessConfig


def augmentation(cfg: DetTrainConfig) -> DetAugConfig:
    """The training crop and augmentation of ``cfg``."""
    return DetAugConfig(size=cfg.input_size, rotate_deg=cfg.rotate_deg, scale_range=(cfg.scale_min, cfg.scale_max))


def postprocess(cfg: DetTrainConfig) -> DBPostprocessConfig:
    """The DB postprocess settings that validation uses."""
    return DBPostprocessConfig(thresh=cfg.thresh, box_thresh=cfg.box_thresh, unclip_ratio=cfg.unclip_ratio)


def input_spec(cfg: DetTrainConfig) -> dict[str, Any]:
    """The input contract stored with the weights (normalisation, side limit)."""
    return det_input_spec(cfg.limit_side_len, cfg.limit_type)


class DetTrainTask(TaskBase):
    """DB training on detection pages; ``best`` = highest validation Hmean."""

    selection_metric = "hmean"

    def __init__(self, model: nn.Module, train: Sequence[DetSampleLike], val: Sequence[DetSampleLike],
                 cfg: DetTrainConfig, data_hash: str | None = None, parent: str | None = None):
        if not train:
            raise ValueError("no training pages")
        self.model, self.cfg = model, cfg
        self.train_samples, self.val_samples = list(train), list(val)[: cfg.eval_max_images]
        self.data_hash, self.parent = data_hash, parent
        self.loss_fn = DBLoss(cfg.alpha, cfg.beta, cfg.ohem_ratio, main_loss=cfg.main_loss)
        self.device = torch.device("cpu")
        self._val_images: list[np.ndarray] | None = None

    def setup(self, device: torch.device, rank: int, world_size: int) -> None:
        self.device = device
        self.model.to(device)
        spec = input_spec(self.cfg)
        self.dataset = DetDataset(self.train_samples, augmentation(self.cfg), mean=spec["mean"], std=spec["std"],
                                  seed=self.cfg.seed)
        self.sampler = EpochBatchSampler(len(self.dataset), self.cfg.batch_size, seed=self.cfg.seed,
                                         shuffle=True, drop_last=False, rank=rank, world_size=world_size)

    def steps_per_epoch(self) -> int:
        return self.sampler.full_length()

    def train_batches(self, epoch: int, skip: int = 0) -> Iterator[DetBatch]:
        self.sampler.set_epoch(epoch, skip)
        loader = DataLoader(self.dataset, batch_sampler=self.sampler, collate_fn=collate_det,
                            num_workers=self.cfg.workers,
                            generator=torch.Generator().manual_seed(self.cfg.seed + epoch))
        for batch in loader:
            yield batch.to(self.device)

    def training_step(self, model: nn.Module, batch: DetBatch) -> StepOutput:
        pred = model(batch.images)
        loss, logs = self.loss_fn(pred, batch.targets)
        return StepOutput(loss=loss, logs=logs, batch_size=len(batch))

    def evaluate(self) -> dict[str, float]:
        """Validation precision/recall/Hmean of the inference path (postprocess settings of the config)."""
        if not self.val_samples:
            return {"hmean": 0.0, "precision": 0.0, "recall": 0.0, "n_images": 0}
        if self._val_images is None:
            self._val_images = [read_image(s.path, s.source) for s in self.val_samples]
        module = self.eval_module()
        was_training = module.training
        detector = TextDetector(module, input_spec(self.cfg), post=postprocess(self.cfg), device=self.device)
        try:
            results = []
            for s, img in zip(self.val_samples, self._val_images, strict=True):
                check_stop(self.should_stop)
                results.append(evaluate_image(s.polygons, s.ignore, detector(img).boxes))
        finally:
            module.train(was_training)
        return {k: float(v) for k, v in aggregate(results).items()}

    def checkpoint_meta(self) -> CheckpointMeta:
        return CheckpointMeta(arch=getattr(self.model, "arch_name", type(self.model).__name__), task="detection",
                              model_kwargs=dict(self.cfg.model_kwargs), input=input_spec(self.cfg),
                              dataset_hash=self.data_hash, parent=self.parent)


def build_det_task(cfg: DetTrainConfig, log=print) -> DetTrainTask:
    """Read the detection labels of ``cfg``, seed, build the model and the task (the loop loads ``pretrained``)."""
    from semiocr.core.data.detection import read_det_labels
    from semiocr.core.data.hashing import dataset_hash
    from semiocr.core.training.loop import seed_everything

    if not cfg.data_dir:
        raise ValueError("config needs data_dir")
    root = Path(cfg.data_dir)
    train = read_det_labels(root, cfg.train_file)[: cfg.train_max_images]
    val = read_det_labels(root, cfg.val_file) if (root / cfg.val_file).is_file() else []
    log(f"{len(train)} training pages, {len(val)} validation pages")
    seed_everything(cfg.seed)
    model = build_model(cfg.arch, **cfg.model_kwargs)
    return DetTrainTask(model, train, val, cfg, data_hash=dataset_hash(root))
