"""The scheduler with the local executor: real ``semiocr train job`` subprocesses on tiny data, stop, resume,
SIGKILL of a job and of a worker, and two schedulers racing for one queue."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from platform_helpers import drive, events, rec_config, row, submit
from synthetic_lines import make_rec_dataset

from semiocr.platform import runs as rs
from semiocr.platform.db import session
from semiocr.platform.executors.base import Attempt, Outcome
from semiocr.platform.executors.local import LocalExecutor, pid_alive
from semiocr.platform.scheduler import Scheduler
from semiocr.platform.tables import Checkpoint, Run
from semiocr.platform.users import local_user


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return make_rec_dataset(tmp_path / "ds", n_train=64, n_val=8, seed=4)


@pytest.mark.slow
def test_a_run_succeeds_with_checkpoints_metrics_and_log(platform_db, user_env, data):
    run_id = submit(rec_config(data))
    run = drive(Scheduler(LocalExecutor(), poll_s=0.05), run_id)
    assert run.state == "succeeded" and run.attempt == 1 and run.exit_reason is None
    assert run.result["metrics"]["acc"] >= 0.0 and "norm_edit" in run.result["metrics"]
    with session() as s:
        ckpts = list(s.query(Checkpoint).filter_by(run_id=run_id))
    kinds = {c.type for c in ckpts}
    assert {"best", "latest", "final"} <= kinds
    final = next(c for c in ckpts if c.type == "final")
    assert Path(final.path) == Path(run.output_dir) / "checkpoints" / "best.pt"
    assert final.metrics == run.result["metrics"]
    log = rs.log_path(run).read_text()
    assert "succeeded: epoch 2" in log and "eval epoch 2" in log  # plain console lines, no progress bars
    assert [e["epoch"] for e in events(run_id) if e["kind"] == "metrics"] == [1, 2]


@pytest.mark.slow
def test_stop_saves_a_checkpoint_and_resume_finishes_from_it(platform_db, user_env, data):
    run_id = submit(rec_config(data, epochs=10, save_interval_steps=2))
    sched = Scheduler(LocalExecutor(), poll_s=0.05, grace_s=60)

    def stop_after_a_checkpoint(run: Run) -> None:
        if run.state == "running" and not run.stop_requested and any(e["kind"] == "checkpoint" for e in events(run_id)):
            with session() as s:
                rs.request_stop(s, local_user(s), run_id)

    run = drive(sched, run_id, on_tick=stop_after_a_checkpoint)
    assert run.state == "stopped" and "resume continues" in run.exit_reason
    stopped_at = [e for e in events(run_id) if e["kind"] == "end"][-1]
    assert stopped_at["reason"] == "stopped" and 0 < stopped_at["step"] < 10 * 8
    with session() as s:
        rs.resume(s, local_user(s), run_id)
    run = drive(sched, run_id)
    assert run.state == "succeeded" and run.attempt == 2
    starts = [e for e in events(run_id) if e["kind"] == "start"]
    assert starts[-1]["start_step"] == stopped_at["step"]  # continued, not restarted
    assert "resumed from" in rs.log_path(run).read_text()


def _kill_when(run_id: int, predicate, sig: int = signal.SIGKILL):
    def check(run: Run) -> None:
        if run.state == "running" and run.handle and predicate() and pid_alive(int(run.handle)):
            os.killpg(int(run.handle), sig)
    return check


@pytest.mark.slow
def test_sigkill_of_the_job_fails_the_run_and_resume_reaches_the_uninterrupted_result(platform_db, user_env, data):
    cfg = rec_config(data, epochs=30, save_interval_steps=5)
    sched = Scheduler(LocalExecutor(), poll_s=0.05)
    full = drive(sched, submit(cfg))
    assert full.state == "succeeded"

    run_id = submit(cfg)
    latest = lambda: any(e["kind"] == "checkpoint" and e["type"] == "latest" for e in events(run_id))  # noqa: E731
    run = drive(sched, run_id, on_tick=_kill_when(run_id, latest))
    assert run.state == "failed" and "killed by signal 9" in run.exit_reason
    with session() as s:
        rs.resume(s, local_user(s), run_id)
    run = drive(sched, run_id)
    assert run.state == "succeeded" and run.attempt == 2
    assert [e["start_step"] for e in events(run_id) if e["kind"] == "start"][-1] > 0
    # CPU training resumes exactly (model, optimiser, scheduler, RNG, mid-epoch position): the same numbers
    assert run.result["metrics"] == pytest.approx(full.result["metrics"], abs=1e-6)


@pytest.mark.slow
def test_a_killed_worker_fails_its_run_and_kills_the_orphan_job(platform_db, user_env, data):
    run_id = submit(rec_config(data, epochs=200))
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    worker = subprocess.Popen([sys.executable, "-m", "semiocr.cli.main", "worker", "--poll", "0.1"], env=env,
                              stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not any(e["kind"] == "progress" for e in events(run_id)):
            assert worker.poll() is None, worker.stderr.read()
            time.sleep(0.1)
        job_pid = int(row(run_id).handle)
        assert pid_alive(job_pid)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
    survivor = Scheduler(LocalExecutor(), poll_s=0.05, heartbeat_timeout_s=1.0)
    run = drive(survivor, run_id, until=("failed",), timeout=30)
    assert "stopped heartbeating" in run.exit_reason
    time.sleep(0.5)
    assert not pid_alive(job_pid)  # the orphan job was killed, not left training beside a resumed attempt
    with session() as s:
        rs.resume(s, local_user(s), run_id)
    run = drive(survivor, run_id, until=("running",), timeout=30)
    assert run.attempt == 2 and run.worker == survivor.worker
    with session() as s:
        rs.request_stop(s, local_user(s), run_id)
    assert drive(survivor, run_id).state == "stopped"


class RecordingExecutor:
    """Starts nothing; every attempt succeeds at once (tests the claim, not the job)."""

    name = "local"

    def __init__(self, started: list[int], lock: threading.Lock):
        self.started, self.lock = started, lock

    def capacity_gpus(self) -> int | None:
        return None

    def start(self, attempt: Attempt) -> str:
        with self.lock:
            self.started.append(attempt.run_id)
        return f"fake-{attempt.run_id}"

    def poll(self, handle: str, attempt: Attempt) -> Outcome:
        return Outcome("succeeded")

    def stop(self, handle: str, grace_s: float) -> None:
        raise AssertionError("nothing to stop")


def test_two_schedulers_racing_for_one_queue_execute_each_run_once(platform_db, user_env, tmp_path):
    ids = [submit(rec_config(tmp_path, epochs=1)) for _ in range(12)]
    started: list[int] = []
    lock = threading.Lock()
    scheds = [Scheduler(RecordingExecutor(started, lock), worker=f"w{i}", max_running=3) for i in range(2)]

    def work(sched: Scheduler) -> None:
        for _ in range(40):
            sched.tick()

    threads = [threading.Thread(target=work, args=(sc,)) for sc in scheds]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(started) == ids  # every run started, none twice
    with session() as s:
        runs = [s.get(Run, i) for i in ids]
        assert {r.state for r in runs} == {"succeeded"} and {r.attempt for r in runs} == {1}
        assert {r.worker for r in runs} <= {"w0", "w1"}


def test_a_cancelled_run_is_never_started(platform_db, user_env, tmp_path):
    started: list[int] = []
    run_id = submit(rec_config(tmp_path))
    with session() as s:
        rs.cancel(s, local_user(s), run_id)
    Scheduler(RecordingExecutor(started, threading.Lock())).tick()
    assert started == [] and row(run_id).state == "draft"


class KnownHandleExecutor(RecordingExecutor):
    """Knows each attempt's handle before starting it (like Ray's submission id); records the handle the database
    held when ``start`` was called; refuses the runs in ``refuse``."""

    def __init__(self, seen: list[str | None], refuse: set[int]):
        super().__init__([], threading.Lock())
        self.seen, self.refuse = seen, refuse

    def handle_for(self, attempt: Attempt) -> str:
        return f"job-{attempt.run_id}-{attempt.attempt}"

    def start(self, attempt: Attempt) -> str:
        self.seen.append(row(attempt.run_id).handle)  # read in another session: committed before the start
        if attempt.run_id in self.refuse:
            raise RuntimeError("the cluster said no")
        return self.handle_for(attempt)


def test_a_handle_known_in_advance_is_recorded_before_the_attempt_starts(platform_db, user_env, tmp_path):
    ok, refused = submit(rec_config(tmp_path)), submit(rec_config(tmp_path))
    seen: list[str | None] = []
    sched = Scheduler(KnownHandleExecutor(seen, refuse={refused}), max_running=2)
    sched.tick()
    assert seen == [f"job-{ok}-1", f"job-{refused}-1"]
    assert row(ok).state == "running" and row(ok).handle == f"job-{ok}-1"
    failed = row(refused)
    assert failed.state == "failed" and failed.exit_reason == "local executor could not start it: the cluster said no"
    sched.tick()
    assert row(ok).state == "succeeded"
