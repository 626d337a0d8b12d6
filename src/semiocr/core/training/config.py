"""Typed configs of the training jobs, all loaded by ``semiocr.core.config`` (YAML + ``-o key=value``).

One naming of the optimisation knobs everywhere (``Optimization``): a supervised recognition run, a detection
run and every stage of the semi-supervised recipe use the same fields. ``LoopConfig`` adds what the generic
loop reads; ``RecTrainConfig`` and ``DetTrainConfig`` are the ``rec`` and ``det`` jobs (``kind`` tells a job
config apart, see ``semiocr.core.job``). The basic fields mirror the seed's training form (epochs, batch size,
learning rate; advanced: resume checkpoint, pretrained weights, warm-up steps, log interval in steps,
eval-and-save interval in epochs).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

#: Largest batch size the form accepts. The seed caps it at what one V100 32 GB runs; for
#: PP-OCRv4-server-rec at 48×320 with AMP that is a few hundred lines, so the form allows 512.
MAX_BATCH_SIZE = 512


class Strict(BaseModel):
    """Unknown keys are errors; assignments are validated."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, protected_namespaces=())


class Optimization(Strict):
    """The optimisation knobs of one training run or recipe stage."""

    epochs: int = Field(20, ge=0, le=100_000)
    batch_size: int = Field(64, ge=1, le=MAX_BATCH_SIZE, description=f"per device, at most {MAX_BATCH_SIZE}")
    learning_rate: float = Field(1e-3, gt=0, le=10)
    weight_decay: float = Field(1e-4, ge=0)
    warmup_steps: int = Field(0, ge=0, description="linear learning-rate warm-up, in optimiser steps")
    grad_clip: float = Field(5.0, ge=0, description="max gradient norm (0: off)")
    backbone_lr_scale: float = Field(1.0, gt=0, le=1, description="learning rate of the backbone as a fraction of "
                                     "learning_rate (layer-wise rates: pretrained features move less than neck and "
                                     "head)")
    freeze_backbone_steps: int = Field(0, ge=0, description="the backbone's weights are not updated during the "
                                       "first N optimiser steps (a new or rebuilt head settles first; BatchNorm "
                                       "statistics still adapt unless freeze_bn_stats)")
    freeze_bn_stats: bool = Field(False, description="keep BatchNorm running statistics fixed while training "
                                                     "(small batches, fine-tuning good weights)")
    eval_interval: int = Field(1, ge=1, description="epochs between evaluation + checkpoint")
    patience: int = Field(0, ge=0, description="end training after this many evaluations in a row without a "
                                              "better validation score (early stopping; 0: off)")


class LoopConfig(Optimization):
    """Everything the generic training loop reads (``semiocr.core.training.loop.fit``)."""

    epochs: int = Field(20, ge=1, le=100_000)
    arch: str = Field("PP-OCRv4-mobile-rec", description="architecture name in the model registry")
    model_kwargs: dict[str, Any] = Field(default_factory=dict, description="extra builder arguments")
    output_dir: str = "output/rec"
    resume: str | None = Field(None, description="checkpoint (or run dir: its latest.pt) to resume exactly")
    pretrained: str | None = Field(None, description="start weights (weights only): preset, checkpoint, run "
                                   "directory or marked nickname; a different dict rebuilds the CTC head")
    log_interval: int = Field(10, ge=1, description="steps between progress events")
    eval_at_start: bool = Field(False, description="evaluate the start weights too (epoch 0): they stay best.pt "
                                                   "unless training beats them")
    save_interval_steps: int = Field(0, ge=0, description="also save `latest` every N steps (0: per epoch only)")
    save_periodic: bool = Field(True, description="keep epoch_<n>.pt at each eval interval")
    seed: int = 42
    device: str = Field("auto", description="auto | cpu | cuda | cuda:<i>")
    workers: int = Field(2, ge=0, le=64)
    optimizer: Literal["adamw", "adam", "sgd"] = "adamw"
    min_lr_ratio: float = Field(0.0, ge=0, le=1, description="cosine floor as a fraction of learning_rate")
    amp: bool = Field(True, description="mixed precision on CUDA (float16 with loss scaling; ignored on CPU)")
    cpu_bf16: bool | Literal["auto"] = Field(
        False, description="mixed precision on CPU: convolutions and matrix products of the training steps in "
                           "bfloat16 (losses, weights, optimiser and evaluation stay float32); auto: only where the "
                           "CPU has AVX512-BF16 or AMX (elsewhere it is emulated and slower)")
    channels_last: bool = Field(False, description="keep the convolution weights (and so the activations) in "
                                                   "NHWC memory order: the same computation, faster on CPU")


class RecTrainConfig(LoopConfig):
    """A supervised recognition job (``semiocr train rec``)."""

    kind: Literal["rec"] = "rec"
    data_dir: str | None = Field(None, description="dataset dir (MSTextRecLMSSLDataset layout)")
    train_file: str = "train.txt"
    val_file: str = "val.txt"
    dict_file: str | None = Field(None, description="dict file; default <data_dir>/dict.txt")
    use_space: bool = Field(True, description="append the space as the last class (PaddleOCR use_space_char)")
    augment: Literal["none", "weak", "strong"] = "weak"
    rotate_180_aug: float = Field(0.0, ge=0, le=1, description="probability of turning a training line by 180° "
                                  "(label unchanged): read upside-down lines in one pass; 0 for digit strings (6/9)")
    max_text_length: int = Field(25, ge=1)
    max_width: int = Field(960, ge=48, description="cap on the padded batch width (pixels)")
    eval_batch_size: int = Field(64, ge=1, le=MAX_BATCH_SIZE)


class DetTrainConfig(LoopConfig):
    """A DB detection job (``semiocr train det``) on PaddleOCR ``Label.txt`` pages."""

    kind: Literal["det"] = "det"
    arch: str = "PP-OCRv4-mobile-det"
    pretrained: str | None = Field("PP-OCRv4-mobile-det", description="start weights: preset, checkpoint, run "
                                   "directory or marked nickname (null: random init)")
    data_dir: str | None = Field(None, description="dataset dir with the detection label files")
    train_file: str = "det_train.txt"
    val_file: str = "det_val.txt"
    output_dir: str = "output/det"
    epochs: int = Field(50, ge=1, le=100_000)
    batch_size: int = Field(8, ge=1, le=MAX_BATCH_SIZE)
    input_size: int = Field(640, ge=64, le=2048, multiple_of=32, description="square training crop")
    rotate_deg: float = Field(10.0, ge=0, le=90)
    scale_min: float = Field(0.5, gt=0)
    scale_max: float = Field(3.0, gt=0)
    alpha: float = 5.0
    beta: float = 10.0
    ohem_ratio: float = 3.0
    main_loss: Literal["bce", "dice"] = "bce"
    thresh: float = Field(0.3, ge=0, le=1, description="postprocess binarisation threshold (eval)")
    box_thresh: float = Field(0.5, ge=0, le=1)
    unclip_ratio: float = Field(1.6, gt=0)
    limit_side_len: int = Field(736, ge=32)
    limit_type: Literal["min", "max"] = "min"
    eval_max_images: int | None = Field(None, ge=1, description="evaluate on the first N val pages only")
    train_max_images: int | None = Field(None, ge=1, description="train on the first N pages only (small presets)")
