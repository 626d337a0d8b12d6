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
from pydantic import Field
from torch import nn
from torch.utils.data import DataLoader

from semiocr.core.data.detection import DetSampleLike
from semiocr.core.data.images import read_image
from semiocr.core.eval.detection import aggregate, evaluate_image
from semiocr.core.inference.detector import TextDetector
from semiocr.core.models.registry import build_model
from semiocr.core.training.config import TrainConfig
from semiocr.core.training.det_augment import DetAugConfig
from semiocr.core.training.det_data import DetBatch, DetDataset, collate_det
from semiocr.core.training.det_loss import DBLoss
from semiocr.core.training.sampler import EpochBatchSampler
from semiocr.core.training.task import StepOutput, TaskBase
from semiocr.core.weights.checkpoint import CheckpointMeta, det_input_spec
from semiocr.core.weights.load import load_start_weights
from semiocr.runtime.det_postprocess import DBPostprocessConfig


class DetTrainConfig(TrainConfig):
    """Config of a detection run (the recognition-only fields of ``TrainConfig`` are ignored)."""

    arch: str = "PP-OCRv4-mobile-det"
    train_file: str = "det_train.txt"
    val_file: str = "det_val.txt"
    output_dir: str = "output/det"
    init_weights: str | None = Field("PP-OCRv4-mobile-det", description="preset name or detector checkpoint "
                                     "whose weights start the run (null: random init)")
    epochs: int = Field(50, ge=1, le=100_000)
    batch_size: int = Field(8, ge=1, le=512)
    learning_rate: float = Field(1e-3, gt=0, le=10)
    freeze_bn: bool = Field(False, description="keep BatchNorm statistics fixed (small CPU batches)")
    input_size: int = Field(640, ge=64, le=2048, multiple_of=32, description="square training crop")
    rotate_deg: float = Field(10.0, ge=0, le=90)
    scale_min: float = Field(0.5, gt=0)
    scale_max: float = Field(3.0, gt=0)
    alpha: float = 5.0
    beta: float = 10.0
    ohem_ratio: float = 3.0
    main_loss: str = Field("bce", pattern="^(bce|dice)$")
    thresh: float = Field(0.3, ge=0, le=1, description="postprocess binarisation threshold (eval)")
    box_thresh: float = Field(0.5, ge=0, le=1)
    unclip_ratio: float = Field(1.6, gt=0)
    limit_side_len: int = Field(736, ge=32)
    limit_type: str = Field("min", pattern="^(min|max)$")
    eval_max_images: int | None = Field(None, ge=1, description="evaluate on the first N val pages only")
    train_max_images: int | None = Field(None, ge=1, description="train on the first N pages only (small presets)")

    def aug(self) -> DetAugConfig:
        return DetAugConfig(size=self.input_size, rotate_deg=self.rotate_deg,
                            scale_range=(self.scale_min, self.scale_max))

    def post(self) -> DBPostprocessConfig:
        return DBPostprocessConfig(thresh=self.thresh, box_thresh=self.box_thresh, unclip_ratio=self.unclip_ratio)

    def input_spec(self) -> dict[str, Any]:
        """The input contract stored with the weights (normalisation, side limit)."""
        return det_input_spec(self.limit_side_len, self.limit_type)


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
        spec = self.cfg.input_spec()
        self.dataset = DetDataset(self.train_samples, self.cfg.aug(), mean=spec["mean"], std=spec["std"],
                                  seed=self.cfg.seed)
        self.sampler = EpochBatchSampler(len(self.dataset), self.cfg.batch_size, seed=self.cfg.seed,
                                         shuffle=True, drop_last=False, rank=rank, world_size=world_size)

    def steps_per_epoch(self) -> int:
        return self.sampler.full_length()

    def train_batches(self, epoch: int, skip: int = 0) -> Iterator[DetBatch]:
        if self.cfg.freeze_bn:
            for m in self.model.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.eval()
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
        detector = TextDetector(module, self.cfg.input_spec(), post=self.cfg.post(), device=self.device)
        try:
            results = [evaluate_image(s.polygons, s.ignore, detector(img).boxes)
                       for s, img in zip(self.val_samples, self._val_images, strict=True)]
        finally:
            module.train(was_training)
        return {k: float(v) for k, v in aggregate(results).items()}

    def checkpoint_meta(self) -> CheckpointMeta:
        return CheckpointMeta(arch=getattr(self.model, "arch_name", type(self.model).__name__), task="detection",
                              model_kwargs=dict(self.cfg.model_kwargs), input=self.cfg.input_spec(),
                              dataset_hash=self.data_hash, parent=self.parent)


def build_det_task(cfg: DetTrainConfig, log=print) -> DetTrainTask:
    """Read the detection labels of ``cfg``, seed, build the model (with ``init_weights``) and the task."""
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
    if cfg.init_weights and not cfg.resume:
        log(load_start_weights(model, cfg.init_weights, None))
    return DetTrainTask(model, train, val, cfg, data_hash=dataset_hash(root),
                        parent=cfg.init_weights)
