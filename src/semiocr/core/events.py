"""Typed events: how every job reports to the outside world, and how it is asked to stop.

A job (training loop, LMSSL recipe) knows the outside world through two arguments only (DESIGN.md §2): an
``EventSink`` — any callable taking an ``Event`` (console, JSONL log, database) — and ``should_stop()``. A stop
request raises ``StopRequested`` wherever the job is (a training step, pseudo-labelling, an evaluation,
synthetic rendering); the job's entry point turns it into a ``stopped`` result after saving what resumes it.

``Event.to_dict()`` is the JSON form (``{"kind": ..., fields...}``, metric values flattened), one line per
event in ``metrics.jsonl`` / ``events.jsonl``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, ClassVar


class StopRequested(Exception):  # noqa: N818 - a request, not an error
    """``should_stop()`` became true; the job saves its state and ends as ``stopped``."""


@dataclass(frozen=True, kw_only=True)
class Event:
    """Base of all events; ``stage`` and ``round`` place it inside a multi-stage job (the LMSSL recipe)."""

    kind: ClassVar[str] = "event"
    stage: str | None = None
    round: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "values":
                out.update(value)
            elif value is not None or f.name not in ("stage", "round"):
                out[f.name] = value
        return out


@dataclass(frozen=True, kw_only=True)
class Started(Event):
    """A training run starts (or resumes)."""

    kind: ClassVar[str] = "start"
    run_dir: str
    epochs: int
    steps_per_epoch: int
    start_epoch: int
    start_step: int
    world_size: int
    device: str


@dataclass(frozen=True, kw_only=True)
class Progress(Event):
    """Training progress every ``log_interval`` steps; ``values`` = grad norm, throughput, task losses."""

    kind: ClassVar[str] = "progress"
    epoch: int
    step: int
    epoch_step: int
    steps_per_epoch: int
    lr: float
    loss: float
    values: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Metrics(Event):
    """Validation metrics (``values``) after an epoch (epoch 0: the start weights)."""

    kind: ClassVar[str] = "metrics"
    epoch: int
    step: int
    values: dict[str, float]
    best: float | None
    is_best: bool


@dataclass(frozen=True, kw_only=True)
class CheckpointSaved(Event):
    kind: ClassVar[str] = "checkpoint"
    path: str
    type: str  # latest | best | periodic
    epoch: int
    step: int


@dataclass(frozen=True, kw_only=True)
class StageChanged(Event):
    """A multi-stage job enters a stage (``stage``, ``round`` set)."""

    kind: ClassVar[str] = "stage"
    message: str = ""


@dataclass(frozen=True, kw_only=True)
class PseudoLabelStats(Event):
    """How many of the pool's readings a selection kept."""

    kind: ClassVar[str] = "pseudo_labels"
    name: str
    kept: int
    pool: int
    threshold: float | None
    top_fraction: float | None
    rotate_180: bool = False


@dataclass(frozen=True, kw_only=True)
class WorkProgress(Event):
    """Progress of work outside training steps: pseudo-labelling, evaluation, synthetic rendering."""

    kind: ClassVar[str] = "work"
    what: str
    done: int
    total: int


@dataclass(frozen=True, kw_only=True)
class LogLine(Event):
    kind: ClassVar[str] = "log"
    message: str
    level: str = "info"


@dataclass(frozen=True, kw_only=True)
class Ended(Event):
    """A training run (one ``fit``) ended: ``reason`` finished or stopped."""

    kind: ClassVar[str] = "end"
    reason: str
    epoch: int
    step: int
    best: float | None
    best_epoch: int | None


@dataclass(frozen=True, kw_only=True)
class JobFinished(Event):
    """A whole job ended (``status`` succeeded or stopped)."""

    kind: ClassVar[str] = "finished"
    status: str
    output_dir: str
    summary: dict[str, Any] | None = None


EventSink = Callable[[Event], None]


def ignore(event: Event) -> None:
    """A sink that drops every event."""


def never() -> bool:
    """A ``should_stop`` that never asks to stop."""
    return False


def check_stop(should_stop: Callable[[], bool] | None) -> None:
    """Raise ``StopRequested`` when ``should_stop()`` says so."""
    if should_stop is not None and should_stop():
        raise StopRequested


class JsonlSink:
    """Appends every event as one JSON line ``{"time", "kind", ...}`` (flushed immediately)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def __call__(self, event: Event) -> None:
        record = {"time": round(time.time(), 3), **event.to_dict()}
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")


class MultiSink:
    """Forward each event to several sinks (``None`` entries are skipped)."""

    def __init__(self, *sinks: EventSink | None):
        self.sinks = [s for s in sinks if s is not None]

    def __call__(self, event: Event) -> None:
        for s in self.sinks:
            s(event)


def in_stage(sink: EventSink, stage: str, round_index: int = 0) -> EventSink:
    """A sink that stamps ``stage`` and ``round`` on every event before passing it on."""

    def stamped(event: Event) -> None:
        sink(replace(event, stage=stage, round=round_index))

    return stamped


def read_jsonl(path: str | Path, kind: str | None = None) -> list[dict[str, Any]]:
    """Events of a JSONL log file as dicts (optionally of one kind)."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    events = [json.loads(line) for line in lines if line.strip()]
    return [e for e in events if kind is None or e["kind"] == kind]
