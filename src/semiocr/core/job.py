"""The job contract: what a run is (a config of one ``kind``), how it runs and how it ends.

A job config is a discriminated union on ``kind`` (``rec`` | ``det`` | ``lmssl`` | ``eval``): exactly what the CLI
runs and what a managed run stores (``cfg.model_dump(mode="json")`` round-trips through ``load_job_config``). Every kind
has one entry point ``run(cfg, sink, should_stop) -> JobResult``; a stop request ends any of them the same way:
``status == "stopped"`` with the state to resume from saved (running the same config again resumes).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter

from semiocr.core.config import ConfigError, load_config, validate
from semiocr.core.eval.config import EvalJobConfig
from semiocr.core.events import EventSink
from semiocr.core.ssl.config import LmsslConfig
from semiocr.core.training.config import DetTrainConfig, RecTrainConfig

JobConfig = Annotated[RecTrainConfig | DetTrainConfig | LmsslConfig | EvalJobConfig, Field(discriminator="kind")]
JOB_CONFIG = TypeAdapter(JobConfig)
KINDS = ("rec", "det", "lmssl", "eval")


@dataclass
class JobResult:
    """How a job ended: ``succeeded`` or ``stopped`` (failures raise), where its outputs are, and its best
    validation metrics (``metric`` names the one that selected them)."""

    kind: str
    status: Literal["succeeded", "stopped"]
    output_dir: Path
    metric: str
    best: float | None
    metrics: dict[str, float] = field(default_factory=dict)
    epoch: int | None = None
    step: int | None = None
    summary: dict[str, Any] | None = None  # the LMSSL summary (per model: start, warm-up, final)
    message: str = ""


def load_job_config(path: str | Path | None = None, overrides: list[str] | tuple[str, ...] = (),
                    kind: str | None = None, **fixed: Any) -> JobConfig:
    """Load a job config. ``kind`` (what a ``semiocr train <kind>`` command runs) fills in a file without one and
    must agree with a file that has one."""
    if kind is not None and kind not in KINDS:
        raise ConfigError(f"unknown job kind {kind!r}; known: {', '.join(KINDS)}")
    raw = load_config(dict, path, overrides, **fixed)
    if kind is not None:
        if raw.setdefault("kind", kind) != kind:
            raise ConfigError(f"{path}: a {raw['kind']!r} job config, not {kind!r}")
    elif "kind" not in raw:
        raise ConfigError(f"{path or 'config'}: no kind (one of {', '.join(KINDS)})")
    return validate(JOB_CONFIG, raw, f"{path if path is not None else 'defaults'}")


def run_job(cfg: JobConfig, sink: EventSink | None = None,
            should_stop: Callable[[], bool] | None = None) -> JobResult:
    """Run (or resume) any job; ``sink`` receives its typed events, ``should_stop`` is polled throughout."""
    if isinstance(cfg, LmsslConfig):
        from semiocr.core.ssl.recipe import run_lmssl as run
    elif isinstance(cfg, EvalJobConfig):
        from semiocr.core.eval.job import run_eval as run
    elif isinstance(cfg, DetTrainConfig):
        from semiocr.core.training.run import run_det as run
    else:
        from semiocr.core.training.run import run_rec as run
    return run(cfg, sink, should_stop)
