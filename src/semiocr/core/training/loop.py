"""The one generic training loop: optimiser, warm-up + cosine LR, AMP, clipping, DDP, checkpoints, resume.

It never branches on what is being trained: everything stage-specific lives in the ``TrainTask``. The
outside world sees it through ``sink(event)`` (typed events, ``semiocr.core.events``) and ``should_stop()``
only (DESIGN.md §2).
"""

from __future__ import annotations

import inspect
import itertools
import math
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from semiocr.core.config import dump_config
from semiocr.core.events import (
    CheckpointSaved,
    Ended,
    Event,
    EventSink,
    JsonlSink,
    LogLine,
    Metrics,
    Progress,
    Started,
    StopRequested,
)
from semiocr.core.training import ddp
from semiocr.core.training.config import LoopConfig
from semiocr.core.training.precision import step_dtype
from semiocr.core.training.resume import TrainState, restore_rng, train_section
from semiocr.core.training.task import TrainTask
from semiocr.core.weights.checkpoint import (
    CHECKPOINT_DIR,
    CheckpointError,
    CheckpointMeta,
    check_compatible,
    read_checkpoint,
    save_checkpoint,
)
from semiocr.core.weights.load import load_start_weights
from semiocr.core.weights.resolve import resolve_weights, resume_checkpoint
from semiocr.runtime.charset import Charset


@dataclass
class FitResult:
    """How a run ended."""

    reason: str  # "finished" | "early_stopped" (``patience``) | "stopped"
    epoch: int
    step: int
    best: float | None
    best_epoch: int | None
    last_metrics: dict[str, float] = field(default_factory=dict)
    run_dir: Path | None = None


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (call before building models so that init is reproducible)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def warmup_cosine(warmup_steps: int, total_steps: int, min_ratio: float = 0.0) -> Callable[[int], float]:
    """LR multiplier: linear warm-up to 1 over ``warmup_steps``, then cosine down to ``min_ratio``."""
    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        span = max(1, total_steps - warmup_steps)
        progress = min(1.0, (step - warmup_steps) / span)
        return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
    return factor


def _backbone_ids(model: nn.Module, cfg: LoopConfig) -> set[int]:
    """Ids of the backbone's parameters when the config treats the backbone apart (layer-wise rate, freezing)."""
    if cfg.backbone_lr_scale == 1.0 and not cfg.freeze_backbone_steps:
        return set()
    backbone = getattr(model, "backbone", None)
    if not isinstance(backbone, nn.Module):
        raise ValueError(f"backbone_lr_scale / freeze_backbone_steps: {type(model).__name__} has no `backbone`")
    return {id(p) for p in backbone.parameters()}


def build_optimizer(model: nn.Module, cfg: LoopConfig) -> torch.optim.Optimizer:
    """AdamW / Adam / SGD; no weight decay on biases and norm parameters (1-D tensors). With a layer-wise rate or
    a frozen start the backbone's parameters form their own groups (``group["backbone"]`` True)."""
    backbone = _backbone_ids(model, cfg)
    groups = []
    for in_backbone in ((False, True) if backbone else (False,)):
        params = [p for p in model.parameters() if p.requires_grad and (id(p) in backbone) == in_backbone]
        groups += [{"params": [p for p in params if p.ndim >= 2], "weight_decay": cfg.weight_decay,
                    "backbone": in_backbone},
                   {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0, "backbone": in_backbone}]
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=cfg.learning_rate)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(groups, lr=cfg.learning_rate)
    return torch.optim.SGD(groups, lr=cfg.learning_rate, momentum=0.9, nesterov=True)


def lr_factors(optimizer: torch.optim.Optimizer, cfg: LoopConfig, total_steps: int) -> list[Callable[[int], float]]:
    """Per parameter group LR multipliers: warm-up + cosine; for backbone groups also ``backbone_lr_scale`` and
    zero during the first ``freeze_backbone_steps`` steps."""
    base = warmup_cosine(cfg.warmup_steps, total_steps, cfg.min_lr_ratio)

    def backbone(step: int) -> float:
        return 0.0 if step < cfg.freeze_backbone_steps else cfg.backbone_lr_scale * base(step)

    return [backbone if g.get("backbone") else base for g in optimizer.param_groups]


def _task_setup(task: TrainTask, ctx: ddp.DistContext) -> None:
    if hasattr(task, "setup"):
        task.setup(ctx.device, ctx.rank, ctx.world_size)
    else:
        task.model.to(ctx.device)


def _task_steps(task: TrainTask) -> int:
    if hasattr(task, "steps_per_epoch"):
        return int(task.steps_per_epoch())
    if hasattr(task, "__len__"):
        return len(task)  # type: ignore[arg-type]
    raise TypeError(f"{type(task).__name__} needs steps_per_epoch() or __len__ (steps per epoch)")


def _task_aux_models(task: TrainTask) -> list[nn.Module]:
    """Networks besides ``task.model`` that the task runs (a frozen teacher, an EMA copy), if it names them."""
    return list(task.aux_models()) if hasattr(task, "aux_models") else []


def _task_meta(task: TrainTask) -> CheckpointMeta:
    if hasattr(task, "checkpoint_meta"):
        return task.checkpoint_meta()
    return CheckpointMeta(arch=getattr(task.model, "arch_name", type(task.model).__name__))


def _task_batches(task: TrainTask, epoch: int, skip: int) -> Iterable[Any]:
    if skip and "skip" in inspect.signature(task.train_batches).parameters:
        return task.train_batches(epoch, skip=skip)
    return itertools.islice(task.train_batches(epoch), skip, None)


class _Run:
    """State of one ``fit`` call (kept in an object so each method stays short)."""

    def __init__(self, task: TrainTask, cfg: LoopConfig, sink: EventSink, should_stop: Callable[[], bool],
                 run_dir: Path):
        self.task, self.cfg, self.should_stop, self.run_dir = task, cfg, should_stop, run_dir
        self.ctx = ddp.init_distributed(cfg.device)
        self._sink = sink
        task.should_stop = should_stop  # tasks poll it inside long evaluations (``check_stop``)
        self.state = TrainState(epoch=0, step=0, epoch_step=0, best=None, best_epoch=None)
        self.last_metrics: dict[str, float] = {}

    def emit(self, event: Event) -> None:
        if self.ctx.is_main:
            self._sink(event)

    def log(self, message: str, level: str = "info") -> None:
        self.emit(LogLine(message=message, level=level))

    # -- set-up ----------------------------------------------------------------------------------------
    def setup(self) -> None:
        cfg, task = self.cfg, self.task
        _task_setup(task, self.ctx)
        self.meta = _task_meta(task)
        self.meta.model_kwargs = dict(cfg.model_kwargs)  # what rebuilds the architecture from the weights
        charset = self.meta.charset_obj()
        if cfg.pretrained and not cfg.resume:
            self.log(load_start_weights(task.model, cfg.pretrained, charset))
            ref = resolve_weights(cfg.pretrained)  # lineage names the file (or preset), not an alias of it
            self.meta.parent = self.meta.parent or ref.preset or str(ref.path)
        task.model.to(self.ctx.device)
        if cfg.channels_last:
            for module in (task.model, *_task_aux_models(task)):
                module.to(memory_format=torch.channels_last)
        self.steps_per_epoch = _task_steps(task)
        if self.steps_per_epoch < 1:
            raise ValueError("the task yields no training step per epoch (too little data for the batch size?)")
        self.optimizer = build_optimizer(task.model, cfg)
        total = cfg.epochs * self.steps_per_epoch
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lr_factors(self.optimizer, cfg, total))
        self.cast_dtype = step_dtype(self.ctx.device, cfg.amp, cfg.cpu_bf16)
        self.use_amp = self.cast_dtype == torch.float16  # float16 needs loss scaling; bfloat16 does not
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.use_amp)
        if cfg.resume:
            self._resume(charset)
        self.model = ddp.wrap_model(task.model, self.ctx)
        if self.ctx.is_main:
            dump_config(cfg, self.run_dir / "config.yaml")

    def _resume(self, charset: Charset | None) -> None:
        ckpt = read_checkpoint(resume_checkpoint(self.cfg.resume), map_location="cpu")
        check_compatible(ckpt["meta"], self.meta.arch, charset)
        if "train" not in ckpt:
            raise CheckpointError(f"{ckpt['meta'].path}: weights-only file, nothing to resume; use it as pretrained")
        tr = ckpt["train"]
        self.task.model.load_state_dict(tr["model"] if tr["model"] is not None else ckpt["model"])
        self.optimizer.load_state_dict(tr["optimizer"])
        self.scheduler.load_state_dict(tr["scheduler"])
        if tr["scaler"] is not None and self.use_amp:
            self.scaler.load_state_dict(tr["scaler"])
        self.task.load_state_dict(tr["task"])
        self.state = TrainState(tr["epoch"], tr["step"], tr["epoch_step"], tr["best"], tr["best_epoch"],
                                tr.get("best_tiebreak"))
        self.last_metrics = dict(ckpt["meta"].metrics)
        restore_rng(tr["rng"])
        self.log(f"resumed from {ckpt['meta'].path} at epoch {self.state.epoch} step {self.state.step} "
                 f"(+{self.state.epoch_step} steps into the epoch), best {self.state.best}")

    # -- checkpoints -----------------------------------------------------------------------------------
    def save(self, kind: str, name: str, metrics: dict[str, float] | None = None) -> None:
        if not self.ctx.is_main:
            return
        eval_module = self.task.eval_module()
        meta = self.meta.stamped(kind=kind, epoch=self.state.epoch, step=self.state.step,
                                 metrics=dict(metrics if metrics is not None else self.last_metrics),
                                 config=self.cfg.model_dump(mode="json"))
        train = train_section(model=self.task.model, eval_module=eval_module, state=self.state,
                              optimizer=self.optimizer, scheduler=self.scheduler,
                              scaler=self.scaler if self.use_amp else None, task_state=self.task.state_dict())
        path = save_checkpoint(self.run_dir / CHECKPOINT_DIR / name, meta, eval_module.state_dict(), train)
        self.emit(CheckpointSaved(path=str(path), type=kind, epoch=self.state.epoch, step=self.state.step))

    # -- training --------------------------------------------------------------------------------------
    def train_step(self, batch: Any) -> dict[str, float]:
        self.optimizer.zero_grad(set_to_none=True)
        with torch.autocast(self.ctx.device.type, dtype=self.cast_dtype, enabled=self.cast_dtype is not None):
            out = self.task.training_step(self.model, batch)
        self.scaler.scale(out.loss).backward()
        logs = {"loss": float(out.loss.detach())}
        if self.cfg.grad_clip > 0:
            self.scaler.unscale_(self.optimizer)
            norm = torch.nn.utils.clip_grad_norm_(self.task.model.parameters(), self.cfg.grad_clip)
            logs["grad_norm"] = float(norm)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        self.state.step += 1
        self.state.epoch_step += 1
        self.task.after_optimizer_step(self.state.step)
        logs.update(out.logs)
        logs["_n"] = float(out.batch_size)
        return logs

    def run_epoch(self, epoch: int) -> bool:
        """Train the rest of ``epoch``; returns True when a stop was requested (latest saved)."""
        self.task.model.train()
        if self.cfg.freeze_bn_stats:
            for m in self.task.model.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.eval()  # normalise with the running statistics and leave them unchanged
        acc: dict[str, float] = {}
        count, t0 = 0, time.perf_counter()
        for batch in _task_batches(self.task, epoch, self.state.epoch_step):
            logs = self.train_step(batch)
            for k, v in logs.items():
                acc[k] = acc.get(k, 0.0) + v
            count += 1
            if self.state.epoch_step % self.cfg.log_interval == 0 or self.state.epoch_step == self.steps_per_epoch:
                self._progress(epoch, acc, count, time.perf_counter() - t0)
                acc, count, t0 = {}, 0, time.perf_counter()
            if self.cfg.save_interval_steps and self.state.step % self.cfg.save_interval_steps == 0 \
                    and self.state.epoch_step < self.steps_per_epoch:
                self.save("latest", "latest.pt")
            if ddp.any_true(self.should_stop(), self.ctx):
                self.save("latest", "latest.pt")
                return True
        return False

    def _progress(self, epoch: int, acc: dict[str, float], count: int, seconds: float) -> None:
        n = acc.pop("_n", 0.0) * self.ctx.world_size
        values = {k: v / max(count, 1) for k, v in acc.items()}
        loss = values.pop("loss", 0.0)
        values.update(samples_per_s=n / seconds if seconds > 0 else 0.0, interval_images=int(n),
                      interval_s=round(seconds, 4))
        self.emit(Progress(epoch=epoch, step=self.state.step, epoch_step=self.state.epoch_step,
                           steps_per_epoch=self.steps_per_epoch, lr=self.optimizer.param_groups[0]["lr"], loss=loss,
                           values=values))

    def end_epoch(self, epoch: int) -> None:
        self.state.epoch, self.state.epoch_step = epoch + 1, 0
        if (epoch + 1) % self.cfg.eval_interval == 0 or epoch + 1 == self.cfg.epochs:
            try:
                self.evaluate_and_save(epoch)
            except StopRequested:  # trained but not evaluated: a resume skips the batches and evaluates
                self.state.epoch, self.state.epoch_step = epoch, self.steps_per_epoch
                self.save("latest", "latest.pt")
                raise
        self.save("latest", "latest.pt")
        ddp.barrier(self.ctx)

    def patience_spent(self) -> bool:
        """Whether ``patience`` evaluations in a row have not beaten the best one (early stopping)."""
        if not self.cfg.patience or self.state.best_epoch is None:
            return False
        since = (self.state.epoch - self.state.best_epoch) // self.cfg.eval_interval
        return since >= self.cfg.patience

    def evaluate_and_save(self, epoch: int) -> None:
        metrics = self.task.evaluate() if self.ctx.is_main else {}
        metrics = ddp.broadcast_object(metrics, self.ctx)
        key = self.task.selection_metric
        if key not in metrics:
            raise KeyError(f"evaluate() returned {sorted(metrics)} without the selection metric {key!r}")
        tie_key = getattr(self.task, "tiebreak_metric", None)
        tie = float(metrics[tie_key]) if tie_key in metrics else None
        is_best = self.state.best is None or metrics[key] > self.state.best or (
            metrics[key] == self.state.best and tie is not None
            and (self.state.best_tiebreak is None or tie > self.state.best_tiebreak))
        if is_best:
            self.state.best, self.state.best_epoch = float(metrics[key]), epoch + 1
            self.state.best_tiebreak = tie
        self.last_metrics = dict(metrics)
        self.emit(Metrics(epoch=epoch + 1, step=self.state.step, values=dict(metrics), best=self.state.best,
                          is_best=is_best))
        if is_best:
            self.save("best", "best.pt", metrics)
        if self.cfg.save_periodic and epoch >= 0:
            self.save("periodic", f"epoch_{epoch + 1:04d}.pt", metrics)

    def result(self, reason: str) -> FitResult:
        if self.ctx.distributed:
            div = ddp.max_divergence(self.task.model, self.ctx)
            ok = div < 1e-5
            self.log(f"weights {'in sync' if ok else 'DIVERGED'} across {self.ctx.world_size} ranks "
                     f"(max divergence {div:.2e})", "info" if ok else "error")
        self.emit(Ended(reason=reason, epoch=self.state.epoch, step=self.state.step, best=self.state.best,
                        best_epoch=self.state.best_epoch))
        return FitResult(reason, self.state.epoch, self.state.step, self.state.best, self.state.best_epoch,
                         dict(self.last_metrics), self.run_dir)


def fit(task: TrainTask, cfg: LoopConfig, sink: EventSink | None = None,
        should_stop: Callable[[], bool] | None = None, run_dir: str | Path | None = None) -> FitResult:
    """Train ``task`` as ``cfg`` says; resumable, DDP-aware (under torchrun), reporting typed events to ``sink``.

    ``run_dir`` defaults to ``cfg.output_dir``; it receives ``config.yaml``, ``checkpoints/{latest,best,
    epoch_NNNN}.pt`` and (without a sink) ``metrics.jsonl``. With ``cfg.eval_at_start`` the start weights are
    evaluated first (metrics event with ``epoch`` 0) and stay ``best.pt`` unless an epoch beats them.
    ``should_stop`` is polled after every step and inside evaluations; a stop saves ``latest`` (once training
    has started) and returns ``reason="stopped"``. With ``cfg.patience`` training ends early (``"early_stopped"``)
    once that many evaluations in a row have not beaten the best.
    """
    run_dir = Path(run_dir or cfg.output_dir)
    run = _Run(task, cfg, sink or JsonlSink(run_dir / "metrics.jsonl"), should_stop or (lambda: False), run_dir)
    run.setup()
    run.emit(Started(run_dir=str(run_dir), epochs=cfg.epochs, steps_per_epoch=run.steps_per_epoch,
                     start_epoch=run.state.epoch, start_step=run.state.step, world_size=run.ctx.world_size,
                     device=str(run.ctx.device)))
    try:
        if cfg.eval_at_start and run.state.step == 0 and run.state.best is None:
            run.evaluate_and_save(-1)  # epoch 0: the start weights are a candidate for best.pt
        for epoch in range(run.state.epoch, cfg.epochs):
            if run.patience_spent():  # checked first, so that a resumed run that had stopped early stays so
                run.log(f"early stop after epoch {epoch}: no better validation in {cfg.patience} evaluations "
                        f"since epoch {run.state.best_epoch}")
                return run.result("early_stopped")
            if run.run_epoch(epoch):
                return run.result("stopped")
            run.end_epoch(epoch)
    except StopRequested:  # inside an evaluation: what was saved before stands
        return run.result("stopped")
    return run.result("finished")
