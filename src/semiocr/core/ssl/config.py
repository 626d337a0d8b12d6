"""The run config of an LMSSL job (large semi-supervised → small distilled); every recipe knob lives here.

YAML files are instances of ``LmsslConfig``, loaded with ``semiocr.core.config.load_config`` (``-o key.sub=value``
overrides). Unknown keys are errors. Each stage's optimisation uses the same knobs as every other training job
(``semiocr.core.training.config.Optimization``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator

from semiocr.core.training.config import Optimization, Strict

Mode = Literal["joint", "large", "small"]
AugPolicy = Literal["none", "weak", "strong"]


class OptimCfg(Optimization):
    """One stage's optimisation (the recipe's defaults: short stages of small batches)."""

    epochs: int = Field(10, ge=0, le=100_000)
    batch_size: int = Field(32, ge=1, le=512)
    warmup_steps: int = Field(10, ge=0, description="linear learning-rate warm-up, in optimiser steps")


class SynthPretrainCfg(Strict):
    """Start weights when none fit the dict: pre-train on lines rendered from the dataset's own characters."""

    lines: int = Field(3000, ge=10)
    val_lines: int = Field(100, ge=1)
    min_len: int | None = Field(None, ge=1)  # None: shortest / longest labelled line
    max_len: int | None = Field(None, ge=1)
    optim: OptimCfg = Field(default_factory=lambda: OptimCfg(epochs=5, learning_rate=3e-3, batch_size=32))


class ModelCfg(Strict):
    """An architecture from the registry and the weights to start from."""

    arch: str
    # start weights: a checkpoint file or a pretrained preset name (e.g. "PP-OCRv4-mobile-rec"); a different
    # dict rebuilds the CTC head, copying the rows of shared characters
    pretrained: str | None = None
    kwargs: dict[str, Any] = Field(default_factory=dict)
    # without ``pretrained``: optionally pre-train on synthetic lines of the dataset's characters first
    synth_pretrain: SynthPretrainCfg | None = None


class PseudoCfg(Strict):
    """Which pseudo-labels are kept in round k: confidence ≥ threshold, then at most the top fraction."""

    threshold: float | None = Field(0.9, ge=0, le=1)
    # growing top fraction: round k keeps at most min(1, top_fraction_start + (k-1) * top_fraction_step)
    top_fraction_start: float | None = Field(None, gt=0, le=1)
    top_fraction_step: float = Field(0.0, ge=0, le=1)
    min_length: int = Field(1, ge=0)
    # lines writing a character that fewer than this share of the pool's readings hold are also ranked within
    # their rarest character's group, whose top fraction is kept too (pl.select); 0 = one pool-wide ranking.
    # Wire markers: the pool-wide top half never kept a "." (read at 0.87-0.95 against ≥ 0.9995), so the teacher
    # unlearned it; with 0.5 % the large model gained 1.6 points of test and the student 1.2 (BENCHMARKS.md)
    rare_char_share: float = Field(0.005, ge=0, le=1)
    weight: float = Field(1.0, gt=0)  # loss weight of pseudo-labelled samples
    # also read each line turned by 180° and keep the more confident reading (upside-down lines, as PP-OCR's
    # 0/180° classifier would; the pool is read twice); "auto": only if that reads val.txt better
    rotate_180: bool | Literal["auto"] = "auto"

    def top_fraction(self, round_index: int) -> float | None:
        if self.top_fraction_start is None:
            return None
        return min(1.0, self.top_fraction_start + (round_index - 1) * self.top_fraction_step)


def warmup_settings(base: OptimCfg, tries: list[dict[str, Any]], where: str) -> list[OptimCfg]:
    """The supervised warm-up's settings: ``base``, then ``base`` with each try's knobs changed. A try naming an
    unknown knob or an invalid value is an error that names ``where`` and the try's index."""
    out = [base]
    for i, changes in enumerate(tries):
        try:
            out.append(OptimCfg.model_validate({**base.model_dump(), **changes}))
        except ValidationError as e:
            raise ValueError(f"{where}[{i}] {changes}: {e}") from None
    return out


class TeacherCfg(Strict):
    """The large model's semi-supervised rounds (DESIGN.md §5 steps 1–3)."""

    model: ModelCfg = Field(default_factory=lambda: ModelCfg(arch="PP-OCRv4-server-rec"))
    warmup: OptimCfg = Field(default_factory=OptimCfg)
    # more supervised warm-ups from the same start weights, each ``warmup`` with these knobs changed; the one
    # best on val is the warm-up the rounds start from. A start close to the domain fine-tunes best with its
    # backbone protected, one far from it (new characters, another script) needs the whole network at full rate
    warmup_tries: list[dict[str, Any]] = Field(default_factory=list)
    rounds: int = Field(2, ge=0)
    round_optim: OptimCfg = Field(default_factory=OptimCfg)
    # top fractions only: the confidence scale differs by domain (BENCHMARKS.md: 0.9 kept 5 of 1856 handwritten
    # lines, while the top half of the wire markers is ≥ 0.9995 confident), the ranking holds everywhere
    pseudo: PseudoCfg = Field(default_factory=lambda: PseudoCfg(threshold=None, top_fraction_start=0.5,
                                                                top_fraction_step=0.25))
    labelled_share: float = Field(0.5, ge=0, le=1)
    labelled_aug: AugPolicy = "weak"
    pseudo_aug: AugPolicy = "strong"
    ema_decay: float | None = Field(0.999, ge=0, lt=1)
    ema_warmup_steps: int = Field(100, ge=0)  # decay ramp of the warm-up only; rounds start at full decay
    consistency_weight: float = Field(0.0, ge=0)  # online weak→strong consistency; 0 = off
    consistency_threshold: float = Field(0.5, ge=0, le=1)
    consistency_batch: int = Field(16, ge=1)

    @model_validator(mode="after")
    def _tries(self) -> TeacherCfg:
        self.warmup_settings()
        return self

    def warmup_settings(self) -> list[OptimCfg]:
        """The warm-up, then each of ``warmup_tries``."""
        return warmup_settings(self.warmup, self.warmup_tries, "teacher.warmup_tries")


class StudentCfg(Strict):
    """The small model distilled from the teacher (DESIGN.md §5 step 4)."""

    model: ModelCfg = Field(default_factory=lambda: ModelCfg(arch="PP-OCRv4-mobile-rec"))
    optim: OptimCfg = Field(default_factory=OptimCfg)
    warmup: OptimCfg | None = None  # the supervised warm-up stage; None = same as ``optim``
    warmup_tries: list[dict[str, Any]] = Field(default_factory=list)  # as the teacher's
    teacher_weights: str | None = None  # small-only mode: the large weights (any weights name, e.g. a mark)
    # the least confident tenth of the final labels is dropped (wire markers: 35 % exact there; dropping it raised
    # the student on val and test with both seeds, BENCHMARKS.md); 0.5 is a floor for unreadable lines
    pseudo: PseudoCfg = Field(default_factory=lambda: PseudoCfg(threshold=0.5, top_fraction_start=0.9))
    labelled_share: float = Field(0.3, ge=0, le=1)
    labelled_aug: AugPolicy = "weak"
    pseudo_aug: AugPolicy = "weak"
    kd_weight: float = Field(1.0, ge=0)  # frame-level KL, used when teacher and student frames align
    kd_temperature: float = Field(2.0, gt=0)
    # frame-level KL only on lines whose teacher reading (as the student sees them) is their training label
    kd_only_agreeing: bool = False
    ema_decay: float | None = Field(None, ge=0, lt=1)
    ema_warmup_steps: int = Field(100, ge=0)
    warmup_supervised: bool = True  # also record a supervised-only start point for the summary
    # joint runs whose small model is the large one (same arch, kwargs and start weights, e.g. both PP-OCRv4
    # mobile on a CPU): the large warm-up is the small's supervised-only stage instead of training it twice
    warmup_from_large: bool = False

    @model_validator(mode="after")
    def _tries(self) -> StudentCfg:
        self.warmup_settings()
        return self

    def warmup_settings(self) -> list[OptimCfg]:
        """The supervised warm-up (``warmup``, else ``optim``), then each of ``warmup_tries``."""
        return warmup_settings(self.warmup or self.optim, self.warmup_tries, "student.warmup_tries")


class DataCfg(Strict):
    """The dataset (MSTextRecLMSSLDataset layout); lines are padded to at least 320 px (the contract)."""

    root: Path
    use_space: bool = True
    max_width: int | None = Field(960, ge=48)
    eval_batch_size: int = Field(64, ge=1)
    # training batches of similar line width (each batch is padded to its widest line): for long, varied lines
    bucket_by_width: bool = False
    # probability of turning a training line by 180° with its label unchanged (every stage): one model reads
    # upside-down lines in one pass (wire markers); keep 0 where turned characters read as others (6/9)
    rotate_180_aug: float = Field(0.0, ge=0, le=1)


class LmsslConfig(Strict):
    """An LMSSL run: ``mode`` joint (large then small), large (large only) or small (small from marked large)."""

    kind: Literal["lmssl"] = "lmssl"
    mode: Mode = "joint"
    output_dir: Path
    data: DataCfg
    teacher: TeacherCfg = Field(default_factory=TeacherCfg)
    student: StudentCfg = Field(default_factory=StudentCfg)
    device: str = "auto"  # auto | cpu | cuda | cuda:<i>
    # every stage's training steps in bfloat16 autocast on CPU (LoopConfig.cpu_bf16: true, false or auto); on
    # CUDA, float16 AMP is on
    cpu_bf16: bool | Literal["auto"] = False
    # every stage's networks in NHWC memory order (LoopConfig.channels_last): the same computation, faster on CPU
    channels_last: bool = False
    seed: int = 0
    # val metric that picks every stage's best weights (ties broken by the other): exact match, or 1 − NED for
    # long lines that are rarely read exactly (e.g. handwriting) — PaddleOCR's ``main_indicator``
    selection_metric: Literal["acc", "norm_edit"] = "acc"

    def step_settings(self) -> dict[str, Any]:
        """How every stage's training steps run (``LoopConfig`` fields the run sets for all stages)."""
        return {"cpu_bf16": self.cpu_bf16, "channels_last": self.channels_last}

    @model_validator(mode="after")
    def _small_needs_teacher(self) -> LmsslConfig:
        if self.mode == "small" and self.student.teacher_weights is None:
            raise ValueError("mode 'small' needs student.teacher_weights (the marked large weights)")
        return self

    @model_validator(mode="after")
    def _warmup_from_large(self) -> LmsslConfig:
        if not self.student.warmup_from_large:
            return self
        if self.mode != "joint":
            raise ValueError("student.warmup_from_large needs mode 'joint' (the large warm-up runs only there)")
        if self.student.model != self.teacher.model:
            raise ValueError("student.warmup_from_large: student.model must equal teacher.model (arch, kwargs, "
                             f"start weights); got {self.student.model.arch!r} vs {self.teacher.model.arch!r}")
        return self
