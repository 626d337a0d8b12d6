"""Entry points of the ``rec`` and ``det`` jobs: build the task from the config and ``fit`` it, one process
of a torchrun world or a world of one. Every event goes to ``<output_dir>/metrics.jsonl`` and to ``sink``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from semiocr.core.events import EventSink, JsonlSink, LogLine, MultiSink
from semiocr.core.job import JobResult
from semiocr.core.training import ddp
from semiocr.core.training.config import DetTrainConfig, LoopConfig, RecTrainConfig
from semiocr.core.training.loop import fit


def run_training(cfg: LoopConfig, build: Callable[..., Any], sink: EventSink | None,
                 should_stop: Callable[[], bool] | None) -> JobResult:
    """Build a task with ``build(cfg, log=...)`` and train it as ``cfg`` says."""
    ctx = ddp.init_distributed(cfg.device)
    run_dir = Path(cfg.output_dir)
    out = MultiSink(JsonlSink(run_dir / "metrics.jsonl"), sink) if ctx.is_main else MultiSink()
    task = build(cfg, log=lambda m: out(LogLine(message=m, level="warning")))
    try:
        result = fit(task, cfg, sink=out, should_stop=should_stop, run_dir=run_dir)
    except BaseException:
        ddp.cleanup(ctx, sync=False)
        raise
    ddp.cleanup(ctx)
    return JobResult(kind=getattr(cfg, "kind", "rec"),
                     status="stopped" if result.reason == "stopped" else "succeeded", output_dir=run_dir,
                     metric=task.selection_metric, best=result.best, metrics=result.last_metrics, epoch=result.epoch,
                     step=result.step)


def run_rec(cfg: RecTrainConfig, sink: EventSink | None = None,
            should_stop: Callable[[], bool] | None = None) -> JobResult:
    """The ``rec`` job: supervised recognition training (``semiocr train rec``)."""
    from semiocr.core.training.supervised import build_supervised_task

    return run_training(cfg, build_supervised_task, sink, should_stop)


def run_det(cfg: DetTrainConfig, sink: EventSink | None = None,
            should_stop: Callable[[], bool] | None = None) -> JobResult:
    """The ``det`` job: DB detection training (``semiocr train det``)."""
    from semiocr.core.training.det_task import build_det_task

    return run_training(cfg, build_det_task, sink, should_stop)
