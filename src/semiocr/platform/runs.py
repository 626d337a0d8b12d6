"""Managed runs: create (draft), submit (queued), cancel, stop, resume, list and show — every state change goes
through ``states.check_transition``. A run's frozen job config is what its attempts execute; its outputs live
in ``$SEMIOCR_HOME/runs/<id>/output`` (shared by all attempts, so a new attempt resumes from the last
checkpoint), each attempt's console log in ``runs/<id>/attempt-<n>.log`` and its events in ``runs/<id>/events.jsonl``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from semiocr.core.config import ConfigError, validate
from semiocr.core.job import JOB_CONFIG
from semiocr.platform import states as st
from semiocr.platform.db import utcnow
from semiocr.platform.settings import get_settings
from semiocr.platform.tables import Checkpoint, Run, User


class RunNotFound(LookupError):
    """No such run for this user (another user's run is not found either)."""


def run_dir(run_id: int) -> Path:
    return get_settings().runs_dir / str(run_id)


def log_path(run: Run, attempt: int | None = None) -> Path:
    return run_dir(run.id) / f"attempt-{attempt if attempt is not None else run.attempt}.log"


def events_path(run: Run) -> Path:
    return run_dir(run.id) / "events.jsonl"


def frozen_config(config: dict[str, Any], output_dir: Path) -> dict[str, Any]:
    """Validate a job config (any kind) and point its outputs at the run's directory."""
    return validate(JOB_CONFIG, {**config, "output_dir": str(output_dir)}, "run config").model_dump(mode="json")


def create_run(s: Session, user: User, config: dict[str, Any], *, name: str | None = None, gpus: int = 0,
               executor: str = "local", submit: bool = True) -> Run:
    """A new run (``queued`` when ``submit``, else ``draft``) of a validated job config."""
    if "kind" not in config:
        raise ConfigError("run config: no kind (rec | det | lmssl | eval)")
    if gpus < 0:
        raise ValueError("gpus: must be 0 or more")
    frozen_config(config, run_dir(0))  # refuse a bad config before anything is stored
    run = Run(user_id=user.id, name=(name or config.get("kind", "run"))[:128], kind=config["kind"],
              mode=config.get("mode"),
              config={}, gpus=gpus, executor=executor, state=st.DRAFT, output_dir="", created_at=utcnow(),
              result={})
    s.add(run)
    s.flush()  # the id names the run's directory
    out = run_dir(run.id) / "output"
    run.config, run.output_dir = frozen_config(config, out), str(out)
    if submit:
        transition(run, st.QUEUED)
    return run


def transition(run: Run, target: str, reason: str | None = None, action: str | None = None) -> None:
    """Move ``run`` to ``target`` (checked; with ``action``, only as that action) and stamp the time the state
    began."""
    done = st.check_transition(run.state, target, run.id)
    if action is not None and done != action:
        raise st.IllegalTransition(f"run {run.id} is {run.state}: cannot {action} it ({done} would)")
    action = done
    run.state = target
    now = utcnow()
    if target == st.QUEUED:
        run.queued_at, run.stop_requested, run.exit_reason = now, False, None
        if action == "resume":
            run.finished_at = None
    elif target == st.RUNNING:
        run.started_at, run.heartbeat_at, run.attempt = now, now, run.attempt + 1
    elif target in st.FINISHED:
        run.finished_at, run.exit_reason = now, reason
    elif target == st.DRAFT:
        run.queued_at = None


def get_run(s: Session, user: User, run_id: int) -> Run:
    run = s.get(Run, run_id)
    if run is None or run.user_id != user.id:
        raise RunNotFound(f"run {run_id} not found")
    return run


def list_runs(s: Session, user: User, state: str | None = None) -> list[Run]:
    q = select(Run).where(Run.user_id == user.id)
    if state is not None:
        q = q.where(Run.state == state)
    return list(s.scalars(q.order_by(Run.id)))


def submit(s: Session, user: User, run_id: int) -> Run:
    run = get_run(s, user, run_id)
    transition(run, st.QUEUED, action="submit")
    return run


def cancel(s: Session, user: User, run_id: int) -> Run:
    """A queued run goes back to draft (it never started)."""
    run = get_run(s, user, run_id)
    transition(run, st.DRAFT)
    return run


def request_stop(s: Session, user: User, run_id: int) -> Run:
    """Ask the worker running ``run_id`` to stop it (it saves a checkpoint first; state ``stopped`` follows)."""
    run = get_run(s, user, run_id)
    if run.state != st.RUNNING:
        hint = "; cancel a queued run instead" if run.state == st.QUEUED else ""
        raise st.IllegalTransition(f"run {run_id} is {run.state}: only a running run can be stopped{hint}")
    run.stop_requested = True
    return run


def resume(s: Session, user: User, run_id: int) -> Run:
    """A stopped or failed run is queued again: its next attempt continues from the last checkpoint."""
    run = get_run(s, user, run_id)
    transition(run, st.QUEUED, action="resume")
    return run


def checkpoints(s: Session, user: User, run_id: int) -> list[Checkpoint]:
    get_run(s, user, run_id)
    return list(s.scalars(select(Checkpoint).where(Checkpoint.run_id == run_id).order_by(Checkpoint.id)))


def describe(run: Run) -> dict[str, Any]:
    """A JSON-ready view of a run."""
    fields = ("id", "name", "kind", "mode", "state", "attempt", "gpus", "executor", "output_dir", "worker",
              "exit_reason", "result", "stop_requested")
    out: dict[str, Any] = {f: getattr(run, f) for f in fields}
    for f in ("created_at", "queued_at", "started_at", "finished_at", "heartbeat_at"):
        value = getattr(run, f)
        out[f] = value.isoformat() if value is not None else None
    out["log"] = str(log_path(run)) if run.attempt else None
    out["config"] = run.config
    return out
