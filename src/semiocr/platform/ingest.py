"""Reads what a job reported through its event sink (the JSONL event log of its attempts) into the database:
a row per checkpoint it saved, with the validation metrics it was saved with, and the final result."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from semiocr.platform.db import utcnow
from semiocr.platform.runs import events_path
from semiocr.platform.tables import Checkpoint, Run

#: final weights of a finished job, by kind (relative to its output directory)
FINAL_WEIGHTS = {"rec": ("checkpoints/best.pt",), "det": ("checkpoints/best.pt",),
                 "lmssl": ("large_best.pt", "small_best.pt")}


def read_new_events(path: Path, offset: int) -> tuple[list[dict[str, Any]], int]:
    """Complete JSON lines of ``path`` after byte ``offset`` and the offset after the last complete one."""
    if not path.is_file():
        return [], offset
    with path.open("rb") as f:
        f.seek(offset)
        data = f.read()
    end = data.rfind(b"\n") + 1
    events = [json.loads(line) for line in data[:end].splitlines() if line.strip()]
    return events, offset + end


def ingest(s: Session, run: Run) -> int:
    """Record the run's new events; returns how many were read."""
    events, run.log_offset = read_new_events(events_path(run), run.log_offset)
    last_metrics: dict[str | None, dict[str, Any]] = {}
    for e in events:
        stage = e.get("stage")
        if e["kind"] == "metrics":
            last_metrics[stage] = {k: v for k, v in e.items() if k not in ("time", "kind", "stage", "round", "epoch",
                                                                           "step", "best", "is_best")}
        elif e["kind"] == "checkpoint":
            metrics = last_metrics.get(stage, {}) if e["type"] != "latest" else {}
            _add_checkpoint(s, run, e["path"], e["type"], stage, e["epoch"], e["step"], metrics)
        elif e["kind"] == "finished" and e.get("summary"):
            run.result = {**(run.result or {}), "summary": e["summary"]}
    return len(events)


def _add_checkpoint(s: Session, run: Run, path: str, type_: str, stage: str | None, epoch: int, step: int,
                    metrics: dict[str, Any]) -> None:
    exists = s.scalar(select(Checkpoint).where(Checkpoint.run_id == run.id, Checkpoint.path == path,
                                               Checkpoint.step == step, Checkpoint.type == type_))
    if exists is None:
        s.add(Checkpoint(run_id=run.id, user_id=run.user_id, path=path, type=type_, stage=stage, epoch=epoch, step=step,
                         metrics=metrics, created_at=utcnow()))
        s.flush()


def record_final_weights(s: Session, run: Run) -> None:
    """After success: a ``final`` checkpoint row for each final weights file of the job."""
    from semiocr.core.weights.checkpoint import read_checkpoint

    for rel in FINAL_WEIGHTS.get(run.kind, ()):
        path = Path(run.output_dir) / rel
        if path.is_file():
            meta = read_checkpoint(path)["meta"]
            _add_checkpoint(s, run, str(path), "final", Path(rel).stem, meta.epoch, meta.step, dict(meta.metrics))
