"""The scheduler: claims queued runs atomically, hands each to an executor, watches it (events, stop requests,
heartbeats) and records how it ended. Several schedulers may share one database: a claim is one UPDATE guarded
by the run's state (with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so each run executes exactly once; a handle
the executor knows in advance (a Ray submission id) is committed with the claim, before the attempt starts; runs of
a worker that stopped heartbeating are marked failed (and resumable) by the others."""

from __future__ import annotations

import os
import signal
import socket
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from semiocr.platform import runs as rs
from semiocr.platform import states as st
from semiocr.platform.db import session, supports_skip_locked, utcnow
from semiocr.platform.executors.base import Attempt, Executor, Outcome
from semiocr.platform.executors.local import kill_group, pid_alive
from semiocr.platform.ingest import ingest, record_final_weights
from semiocr.platform.tables import Checkpoint, Run, User
from semiocr.platform.users import USER_ENV


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def as_utc(value: datetime) -> datetime:
    """SQLite returns naive datetimes (stored as UTC)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def attempt_of(run: Run, owner: str) -> Attempt:
    """The attempt a run is on: its frozen config (resuming from ``latest.pt`` after the first attempt), run as
    its ``owner`` (whose marked weights it may name)."""
    base = rs.run_dir(run.id)
    overrides: tuple[str, ...] = ()
    if run.kind in ("rec", "det") and (Path(run.output_dir) / "checkpoints" / "latest.pt").is_file():
        overrides = (f"resume={run.output_dir}",)
    return Attempt(run.id, run.attempt, base / f"attempt-{run.attempt}.yaml", rs.events_path(run),
                   rs.log_path(run), run.gpus, overrides, ((USER_ENV, owner),))


class Scheduler:
    """One worker's loop: ``tick()`` once, or ``serve()`` until stopped."""

    def __init__(self, executor: Executor, *, worker: str | None = None, poll_s: float = 1.0, grace_s: float = 60.0,
                 heartbeat_timeout_s: float = 30.0, max_running: int = 1, url: str | None = None):
        self.executor, self.worker = executor, worker or worker_id()
        self.poll_s, self.grace_s, self.heartbeat_timeout_s = poll_s, grace_s, heartbeat_timeout_s
        self.max_running, self.url = max_running, url

    # -- one pass ------------------------------------------------------------------------------------------
    def tick(self) -> None:
        with session(self.url) as s:
            self._reap_lost_workers(s)
            mine = list(s.scalars(select(Run).where(Run.state == st.RUNNING, Run.worker == self.worker)))
            for run in mine:
                self._watch(s, run)
        while self._running_count() < self.max_running and self._claim_and_start():
            pass

    def serve(self, stop: threading.Event | None = None) -> None:
        """Tick every ``poll_s`` until ``stop`` is set (or SIGTERM/SIGINT when run as ``semiocr worker``)."""
        stop = stop or threading.Event()
        while not stop.is_set():
            self.tick()
            stop.wait(self.poll_s)

    # -- claiming ------------------------------------------------------------------------------------------
    def _running_count(self) -> int:
        with session(self.url) as s:
            return len(list(s.scalars(select(Run.id).where(Run.state == st.RUNNING, Run.worker == self.worker))))

    def _claim(self, s: Session) -> Run | None:
        st.check_transition(st.QUEUED, st.RUNNING)
        pick = select(Run.id).where(Run.state == st.QUEUED, Run.executor == self.executor.name)
        if s.scalar(pick.limit(1)) is None:
            return None  # nothing queued: the executor's capacity (a cluster query for Ray) is not needed
        free = self.executor.capacity_gpus()
        if free is not None:
            pick = pick.where(Run.gpus <= free)
        pick = pick.order_by(Run.queued_at, Run.id).limit(1)
        if supports_skip_locked(s):
            pick = pick.with_for_update(skip_locked=True)
        now = utcnow()
        claimed = s.execute(update(Run).where(Run.id == pick.scalar_subquery(), Run.state == st.QUEUED)
                            .values(state=st.RUNNING, worker=self.worker, started_at=now, heartbeat_at=now,
                                    attempt=Run.attempt + 1, handle=None)
                            .returning(Run.id)).scalar()
        return s.get(Run, claimed, populate_existing=True) if claimed is not None else None

    def _claim_and_start(self) -> bool:
        handle_for = getattr(self.executor, "handle_for", None)
        with session(self.url) as s:
            run = self._claim(s)
            if run is None:
                return False
            attempt = attempt_of(run, s.get(User, run.user_id).name)
            attempt.config_path.parent.mkdir(parents=True, exist_ok=True)
            attempt.config_path.write_text(yaml.safe_dump(run.config, sort_keys=False, allow_unicode=True),
                                           encoding="utf-8")
            if handle_for is None:  # the handle exists once the attempt runs (local: its pid)
                try:
                    run.handle = self.executor.start(attempt)
                except Exception as e:  # noqa: BLE001 - any start failure is the run's failure, with its reason
                    rs.transition(run, st.FAILED, self._start_failure(e))
                return True
            run.handle = handle = handle_for(attempt)  # on record (committed) before anything is submitted
        try:
            self.executor.start(attempt)
        except Exception as e:  # noqa: BLE001
            with session(self.url) as s:
                run = s.get(Run, attempt.run_id)
                if run.state == st.RUNNING and run.handle == handle:
                    rs.transition(run, st.FAILED, self._start_failure(e))
        return True

    def _start_failure(self, e: Exception) -> str:
        return f"{self.executor.name} executor could not start it: {e}"

    # -- watching ------------------------------------------------------------------------------------------
    def _watch(self, s: Session, run: Run) -> None:
        ingest(s, run)
        run.heartbeat_at = utcnow()
        if run.handle is None:
            return
        if run.stop_requested:
            self.executor.stop(run.handle, self.grace_s)
        outcome = self.executor.poll(run.handle, attempt_of(run, s.get(User, run.user_id).name))
        if outcome.status != "running":
            self._finish(s, run, outcome)

    def _finish(self, s: Session, run: Run, outcome: Outcome) -> None:
        ingest(s, run)
        if outcome.status == "succeeded":
            record_final_weights(s, run)
            best = s.scalars(select(Checkpoint).where(Checkpoint.run_id == run.id, Checkpoint.type.in_(
                ("final", "best"))).order_by(Checkpoint.id.desc())).first()
            result = dict(run.result or {})
            result["metrics"] = dict(best.metrics) if best is not None else result.get("summary", {}).get("metrics", {})
            run.result = result
        rs.transition(run, outcome.status, outcome.reason)

    def _reap_lost_workers(self, s: Session) -> None:
        """Runs whose worker stopped heartbeating fail (resumable); a lost local job still alive is killed."""
        limit = utcnow() - timedelta(seconds=self.heartbeat_timeout_s)
        for run in s.scalars(select(Run).where(Run.state == st.RUNNING, Run.worker != self.worker)):
            if run.heartbeat_at is not None and as_utc(run.heartbeat_at) >= limit:
                continue
            host = (run.worker or "").rsplit(":", 1)[0]
            if run.executor == "local" and host == socket.gethostname() and run.handle and pid_alive(int(run.handle)):
                kill_group(int(run.handle), signal.SIGKILL)
            elif run.executor == self.executor.name != "local" and run.handle:  # e.g. a Ray job: stopped (saves)
                self.executor.stop(run.handle, self.grace_s)
            rs.transition(run, st.FAILED, f"worker {run.worker} stopped heartbeating (last "
                                          f"{run.heartbeat_at}); resume continues from the last checkpoint")
