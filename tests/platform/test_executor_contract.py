"""The executor contract, one suite for every executor: the local executor, and the Ray executor against a real
local Ray head that the suite starts (two declared GPUs; the jobs train on the CPU).

The Ray parameters run only with ``SEMIOCR_TEST_RAY=1`` (CI sets it, with the ``ray`` extra installed: a missing
Ray fails there); otherwise they are deselected. Every job is a tiny ``rec-tiny`` run on generated lines.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from platform_helpers import drive, events, rec_config, row, submit
from ray_head import RayHead, processes_naming
from synthetic_lines import make_rec_dataset

from semiocr.platform import runs as rs
from semiocr.platform.db import session
from semiocr.platform.executors.local import LocalExecutor
from semiocr.platform.scheduler import Scheduler, attempt_of
from semiocr.platform.tables import Checkpoint, Run
from semiocr.platform.users import local_user

pytestmark = pytest.mark.slow

GRACE = 30.0  # seconds a stopped job has to save its checkpoint
EXECUTORS = ["local", pytest.param("ray", marks=pytest.mark.ray)]


@pytest.fixture(scope="session")
def ray_head() -> Iterator[RayHead]:
    head = RayHead(gpus=2, cpus=2)
    try:
        head.start()
        yield head
    finally:
        head.close()


@pytest.fixture(params=EXECUTORS)
def kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def make_executor(kind: str, request: pytest.FixtureRequest, platform_db: str, user_env: str) -> Callable:
    """A new executor of ``kind`` at each call (a new one = a restarted worker): 2 GPUs to hand out."""
    if kind == "local":
        return lambda: LocalExecutor(gpus=2)
    from semiocr.platform.executors.ray import RayExecutor

    head = request.getfixturevalue("ray_head")
    return lambda: RayExecutor(head.address, stop_wait_s=GRACE, log_interval_s=0.5)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return make_rec_dataset(tmp_path / "ds", n_train=32, n_val=8, seed=4)  # 4 steps per epoch


def scheduler(executor, **kw) -> Scheduler:
    return Scheduler(executor, poll_s=0.1, grace_s=GRACE, **kw)


def pause(kind: str) -> float:
    return 0.05 if kind == "local" else 0.2  # every Ray tick is a few HTTP requests to the dashboard


def started(run_id: int) -> bool:
    return any(e["kind"] == "start" for e in events(run_id))


def ray_jobs(executor, run_id: int) -> list[str]:
    """Submission ids of the Ray jobs of run ``run_id`` (of this test's database) on the executor's cluster."""
    from ray.job_submission import JobSubmissionClient

    prefix = f"semiocr-{executor.namespace}-run-{run_id}-attempt-"
    return [j.submission_id for j in JobSubmissionClient(executor.address).list_jobs()
            if (j.submission_id or "").startswith(prefix)]


def resume(run_id: int) -> None:
    with session() as s:
        rs.resume(s, local_user(s), run_id)


def request_stop(run_id: int) -> None:
    with session() as s:
        rs.request_stop(s, local_user(s), run_id)


def test_a_run_succeeds_and_its_checkpoints_and_metrics_are_ingested(kind, make_executor, data):
    run_id = submit(rec_config(data, epochs=2), executor=kind)
    run = drive(scheduler(make_executor()), run_id, pause=pause(kind))
    assert run.state == "succeeded", run.exit_reason
    assert run.attempt == 1 and run.exit_reason is None
    if kind == "ray":
        assert run.handle.startswith("semiocr-") and run.handle.endswith(f"-run-{run_id}-attempt-1")
    assert run.result["metrics"]["acc"] >= 0.0 and "norm_edit" in run.result["metrics"]
    with session() as s:
        ckpts = list(s.query(Checkpoint).filter_by(run_id=run_id))
    assert {"best", "latest", "final"} <= {c.type for c in ckpts}
    final = next(c for c in ckpts if c.type == "final")
    assert Path(final.path) == Path(run.output_dir) / "checkpoints" / "best.pt" and Path(final.path).is_file()
    assert final.metrics == run.result["metrics"]
    assert [e["epoch"] for e in events(run_id) if e["kind"] == "metrics"] == [1, 2]
    log = rs.log_path(run).read_text()  # what `semiocr runs logs` shows, for both executors
    assert "eval epoch 2" in log and "succeeded: epoch 2" in log


def test_a_stop_ends_the_job_through_its_handler_within_the_grace_period_and_resume_finishes_it(
        kind, make_executor, data):
    run_id = submit(rec_config(data, epochs=6, save_interval_steps=2), executor=kind)
    sched = scheduler(make_executor())
    asked: list[float] = []

    def stop_once_training(run: Run) -> None:
        if run.state == "running" and not asked and started(run_id):
            request_stop(run_id)
            asked.append(time.monotonic())

    run = drive(sched, run_id, on_tick=stop_once_training, pause=pause(kind))
    assert run.state == "stopped", run.exit_reason
    assert time.monotonic() - asked[0] < GRACE
    assert run.exit_reason.startswith("stopped on request")  # the job's own SIGTERM handler, not a kill
    assert (Path(run.output_dir) / "checkpoints" / "latest.pt").is_file()
    end = [e for e in events(run_id) if e["kind"] == "end"][-1]
    assert end["reason"] == "stopped" and 0 < end["step"] < 6 * 4
    assert "stopped: " in rs.log_path(run).read_text()

    resume(run_id)
    run = drive(sched, run_id, pause=pause(kind))
    assert run.state == "succeeded" and run.attempt == 2, run.exit_reason
    assert [e["start_step"] for e in events(run_id) if e["kind"] == "start"] == [0, end["step"]]
    assert "resumed from" in rs.log_path(run).read_text()


def test_a_two_gpu_run_waits_while_a_one_gpu_run_holds_one_of_two_gpus(kind, make_executor, data):
    busy = submit(rec_config(data, epochs=100), executor=kind, gpus=1)
    wide = submit(rec_config(data, epochs=1), executor=kind, gpus=2)
    executor = make_executor()
    sched = scheduler(executor, max_running=2)
    drive(sched, busy, until=("running",), pause=pause(kind))
    deadline = time.monotonic() + 60
    while not started(busy):  # the busy job really runs (on Ray: holds its GPU)
        assert time.monotonic() < deadline, "the 1-GPU job did not start"
        sched.tick()
        time.sleep(pause(kind))
    assert executor.capacity_gpus() == 1
    for _ in range(8):
        sched.tick()
        assert row(wide).state == "queued" and row(wide).attempt == 0
        time.sleep(pause(kind))
    if kind == "ray":
        assert ray_jobs(executor, wide) == []  # never submitted to Ray

    request_stop(busy)
    assert drive(sched, busy, pause=pause(kind)).state == "stopped"
    run = drive(sched, wide, pause=pause(kind))
    assert run.state == "succeeded", run.exit_reason
    assert rs.log_path(run).is_file()
    # the wide job trained only after the busy one ended (the run rows may be written a tick apart: on Ray the
    # GPU is free as soon as Ray has the job stopped, which a scheduler may see before it records that end)
    busy_end = [e["time"] for e in events(busy) if e["kind"] == "end"][-1]
    assert [e["time"] for e in events(wide) if e["kind"] == "start"][0] >= busy_end
    assert [e["world_size"] for e in events(wide) if e["kind"] == "start"] == [2]  # torchrun, 2 processes


def test_starting_an_attempt_again_does_not_run_it_twice(kind, make_executor, data):
    run_id = submit(rec_config(data, epochs=1), executor=kind)
    executor = make_executor()
    sched = scheduler(executor)
    run = drive(sched, run_id, until=("running",), pause=pause(kind))
    handle = run.handle
    with session() as s:
        attempt = attempt_of(s.get(Run, run_id), "alice")
    assert executor.start(attempt) == handle  # a retried start
    if kind == "ray":
        assert make_executor().start(attempt) == handle  # a worker that restarted before recording the start
    run = drive(sched, run_id, pause=pause(kind))
    assert run.state == "succeeded" and run.attempt == 1 and run.handle == handle, run.exit_reason
    assert [e["kind"] for e in events(run_id)].count("start") == 1
    assert rs.log_path(run).read_text().count("succeeded: epoch 1") == 1
    if kind == "ray":
        assert ray_jobs(executor, run_id) == [handle]


@pytest.mark.ray
def test_a_head_restart_fails_the_running_run_and_resume_finishes_it_on_the_new_head(request, platform_db, user_env,
                                                                                     data):
    from semiocr.platform.executors.ray import RayExecutor

    head: RayHead = request.getfixturevalue("ray_head")
    # two GPUs: torchrun and its ranks (each in its own session) must all end with the head; 2 steps per epoch, and
    # epochs enough to outlast the second or two its supervisor takes to die
    run_id = submit(rec_config(data, epochs=40, eval_interval=20, save_interval_steps=2), executor="ray", gpus=2)
    sched = scheduler(RayExecutor(head.address, stop_wait_s=GRACE, log_interval_s=0.5))
    latest = lambda: any(e["kind"] == "checkpoint" and e["type"] == "latest" for e in events(run_id))  # noqa: E731
    deadline = time.monotonic() + 60
    while not latest():
        assert time.monotonic() < deadline and row(run_id).state in ("queued", "running"), row(run_id).exit_reason
        sched.tick()
        time.sleep(0.2)
    config = str(rs.run_dir(run_id) / "attempt-1.yaml")
    assert processes_naming(config)  # the job runs

    head.crash()
    for _ in range(3):  # the Jobs API does not answer: the run stays running for now
        sched.tick()
        assert row(run_id).state == "running"
    deadline = time.monotonic() + 15
    while processes_naming(config):  # the job stopped with its supervisor: no orphan trains beside the resume
        assert time.monotonic() < deadline, f"the job outlived its Ray head: {processes_naming(config)}"
        time.sleep(0.2)
    ends = [(e["reason"], e["step"]) for e in events(run_id) if e["kind"] == "end"]
    assert ("finished", 40 * 2) not in ends, ends  # it did not train on to the end
    head.start()
    run = drive(sched, run_id, pause=0.2)
    assert run.state == "failed" and "has no job" in run.exit_reason and "resume" in run.exit_reason

    resume(run_id)
    run = drive(sched, run_id, pause=0.2)
    assert run.state == "succeeded" and run.attempt == 2, run.exit_reason
    starts = [e for e in events(run_id) if e["kind"] == "start"]
    assert starts[-1]["start_step"] > 0 and starts[-1]["world_size"] == 2  # continued from a checkpoint
