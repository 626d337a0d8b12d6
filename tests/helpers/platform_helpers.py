"""Helpers of the platform tests: tiny job configs, submitting as the local user, driving a scheduler."""

from __future__ import annotations

import json
import time
from pathlib import Path

from semiocr.platform import runs as rs
from semiocr.platform.db import session
from semiocr.platform.scheduler import Scheduler
from semiocr.platform.tables import Run
from semiocr.platform.users import local_user


def rec_config(data: Path, **kw) -> dict:
    return {"kind": "rec", "arch": "rec-tiny", "data_dir": str(data), "use_space": False, "epochs": 2,
            "batch_size": 8, "workers": 0, "device": "cpu", "seed": 7, "learning_rate": 3e-3, **kw}


def submit(config: dict, **kw) -> int:
    with session() as s:
        return rs.create_run(s, local_user(s), config, **kw).id


def row(run_id: int) -> Run:
    with session() as s:
        return s.get(Run, run_id)


def drive(sched: Scheduler, run_id: int, until: tuple[str, ...] = ("succeeded", "stopped", "failed"),
          timeout: float = 120.0, on_tick=None, pause: float = 0.05) -> Run:
    """Tick ``sched`` (every ``pause`` seconds) until run ``run_id`` reaches one of ``until``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sched.tick()
        run = row(run_id)
        if on_tick is not None:
            on_tick(run)
        if run.state in until:
            return run
        time.sleep(pause)
    raise AssertionError(f"run {run_id} still {row(run_id).state} after {timeout} s")


def events(run_id: int) -> list[dict]:
    path = rs.run_dir(run_id) / "events.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines()] if path.is_file() else []
