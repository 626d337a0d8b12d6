"""The Ray executor's rules against a fake Jobs API client (no Ray needed): what it submits, how Ray's job states
and exit codes become run outcomes, an unknown or unreachable job, log copying, stop, and free GPUs. The real
thing runs in ``test_executor_contract.py`` (``SEMIOCR_TEST_RAY=1``)."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest

from semiocr.platform.executors.base import Attempt
from semiocr.platform.executors.ray import META_GPUS, RayExecutor, free_gpus

MISSING = "Request failed with status code 404: Job {} does not exist."
DUPLICATE = ("Request failed with status code 500: Traceback (most recent call last):\n  ...\nValueError: Job with "
             "submission_id {} already exists. Please use a different submission_id.\n.")


class FakeJobs:
    """The part of ``JobSubmissionClient`` the executor uses, in memory."""

    def __init__(self) -> None:
        self.jobs: dict[str, SimpleNamespace] = {}
        self.submitted: list[dict] = []
        self.stops: list[str] = []
        self.logs: dict[str, str] = {}
        self.down = False

    def _check(self) -> None:
        if self.down:
            raise ConnectionError("Connection refused")

    def submit_job(self, **kw) -> str:
        self._check()
        sid = kw["submission_id"]
        if sid in self.jobs:
            raise RuntimeError(DUPLICATE.format(sid))
        self.submitted.append(kw)
        self.jobs[sid] = SimpleNamespace(submission_id=sid, status="PENDING", driver_exit_code=None, message=None,
                                         metadata=kw["metadata"], driver_node_id=None)
        return sid

    def get_job_info(self, sid: str) -> SimpleNamespace:
        self._check()
        if sid not in self.jobs:
            raise RuntimeError(MISSING.format(sid))
        return self.jobs[sid]

    def get_job_logs(self, sid: str) -> str:
        self._check()
        return self.logs.get(sid, "")

    def stop_job(self, sid: str) -> bool:
        self._check()
        if sid not in self.jobs:
            raise RuntimeError(MISSING.format(sid))
        self.stops.append(sid)
        return True

    def list_jobs(self) -> list[SimpleNamespace]:
        self._check()
        return list(self.jobs.values())


@pytest.fixture
def fake() -> FakeJobs:
    return FakeJobs()


@pytest.fixture
def executor(fake: FakeJobs) -> RayExecutor:
    ex = RayExecutor("http://head:8265", stop_wait_s=29.5, namespace="ns", log_interval_s=0.0, python="/py")
    ex._client_obj = fake
    return ex


@pytest.fixture
def attempt(tmp_path: Path) -> Attempt:
    config = tmp_path / "runs" / "7" / "attempt-2.yaml"
    config.parent.mkdir(parents=True)
    config.write_text("kind: rec\n")
    return Attempt(7, 2, config, config.with_name("events.jsonl"), config.with_name("attempt-2.log"), gpus=2,
                   env=(("SEMIOCR_USER", "alice"),))


def test_start_submits_the_entry_command_with_its_gpus_grace_and_environment(executor, fake, attempt):
    handle = executor.start(attempt)
    assert handle == executor.handle_for(attempt) == "semiocr-ns-run-7-attempt-2"
    [sub] = fake.submitted
    assert sub["submission_id"] == handle and sub["entrypoint_num_gpus"] == 2
    entry = "/py -m semiocr.platform.executors.ray_entry --"  # before torchrun and before each of its ranks
    assert sub["entrypoint"].startswith(f"exec {entry} /py -m torch.distributed.run --standalone --nproc_per_node=2 "
                                        f"--no-python {entry} /py -m semiocr.cli.main train job")
    assert str(attempt.config_path) in sub["entrypoint"] and str(attempt.events_path) in sub["entrypoint"]
    env = sub["runtime_env"]["env_vars"]
    assert env["RAY_JOB_STOP_WAIT_TIME_S"] == "30"  # Ray parses an integer
    assert env["SEMIOCR_USER"] == "alice" and env["PYTHONUNBUFFERED"] == "1"
    assert {"SEMIOCR_HOME", "SEMIOCR_DATABASE_URL"} <= set(env)
    assert env["SEMIOCR_ALLOCATOR"] == "system"  # tcmalloc is for jobs without GPUs
    assert sub["metadata"][META_GPUS] == "2"


@pytest.mark.parametrize(("allocator", "expected"), [("tcmalloc", "tcmalloc"), ("system", "system")])
def test_a_cpu_job_asks_its_node_for_the_workers_allocator(fake, attempt, allocator, expected):
    ex = RayExecutor("http://head:8265", namespace="ns", python="/py", allocator=allocator)
    ex._client_obj = fake
    ex.start(replace(attempt, gpus=0))
    assert fake.submitted[0]["runtime_env"]["env_vars"]["SEMIOCR_ALLOCATOR"] == expected


def test_starting_an_existing_submission_is_the_same_job_unless_its_config_differs(executor, fake, attempt):
    handle = executor.start(attempt)
    assert executor.start(attempt) == handle and len(fake.submitted) == 1
    attempt.config_path.write_text("kind: rec\nepochs: 3\n")
    with pytest.raises(RuntimeError, match="runs another config than .*attempt-2.yaml"):
        executor.start(attempt)


def test_a_submission_without_answer_is_stopped_and_reported(executor, fake, attempt):
    fake.down = True
    with pytest.raises(RuntimeError, match="did not answer the submission of semiocr-ns-run-7-attempt-2"):
        executor.start(attempt)


@pytest.mark.parametrize("status,code,message,log,expected,reason", [
    ("PENDING", None, None, "", "running", None),
    ("RUNNING", None, None, "", "running", None),
    ("SUCCEEDED", 0, None, "succeeded: epoch 2\n", "succeeded", None),
    ("STOPPED", None, None, "stopped: epoch 1, step 3; outputs in /o; run the same command again to resume\n",
     "stopped", "stopped on request; resume continues"),
    ("STOPPED", None, None, "stopped: epoch 1, step 3; …\n" + "torchrun: SignalException traceback\n" * 30,
     "stopped", "stopped on request"),  # torchrun logs its own shutdown after the ranks' stop messages
    ("STOPPED", None, None, "epoch 1 step 2/4\n", "stopped", "stopped by Ray before the job saved a checkpoint"),
    ("FAILED", 3, "exit code 3", "", "stopped", "stopped on request"),
    ("FAILED", 2, "exit code 2", "error: data_dir: /nope: not found\n", "failed", "bad input: error: data_dir: /nope"),
    ("FAILED", 1, "exit code 1", "Traceback\nZeroDivisionError\n", "failed", "exit code 1: Traceback | Zero"),
    ("FAILED", -9, "exit code -9", "", "failed", "killed by signal 9"),
    ("FAILED", None, "Job supervisor actor died:\n the node was lost", "", "failed",
     "failed: Job supervisor actor died: the node was lost; resume continues"),
])
def test_job_states_and_exit_codes_become_outcomes(executor, fake, attempt, status, code, message, log, expected,
                                                   reason):
    handle = executor.start(attempt)
    job = fake.jobs[handle]
    job.status, job.driver_exit_code, job.message = status, code, message
    fake.logs[handle] = log
    out = executor.poll(handle, attempt)
    assert out.status == expected
    assert (out.reason is None) if reason is None else (reason in out.reason), out.reason
    assert attempt.log_path.read_text() == log  # copied for `semiocr runs logs`


def test_an_unknown_job_fails_the_run_resumably(executor, attempt):
    out = executor.poll("semiocr-ns-run-7-attempt-2", attempt)
    assert out.status == "failed" and "has no job semiocr-ns-run-7-attempt-2" in out.reason
    assert "resume continues" in out.reason


def test_an_unreachable_jobs_api_keeps_the_run_running_for_a_while(executor, fake, attempt):
    handle = executor.start(attempt)
    fake.down = True
    executor.unreachable_s = 0.3
    assert executor.poll(handle, attempt).status == "running"
    assert executor.capacity_gpus() == -1  # nothing starts while Ray does not answer
    time.sleep(0.35)
    out = executor.poll(handle, attempt)
    assert out.status == "failed" and "gave no status" in out.reason and "Connection refused" in out.reason


def test_the_log_is_appended_once_as_it_grows(executor, fake, attempt):
    handle = executor.start(attempt)
    fake.jobs[handle].status = "RUNNING"
    for text in ("a\n", "a\nb\n", "a\nb\n", "a\nb\nc é\n"):
        fake.logs[handle] = text
        executor.poll(handle, attempt)
    assert attempt.log_path.read_text(encoding="utf-8") == "a\nb\nc é\n"


def test_stop_is_asked_once_and_retried_while_ray_does_not_answer(executor, fake, attempt):
    handle = executor.start(attempt)
    fake.down = True
    executor.stop(handle, 60)
    fake.down = False
    executor.stop(handle, 60)
    executor.stop(handle, 60)
    assert fake.stops == [handle]
    executor.stop("semiocr-ns-run-1-attempt-1", 60)  # unknown: nothing to stop, no error


def _job(status: str, gpus: int | None, node: str | None = None) -> SimpleNamespace:
    return SimpleNamespace(status=status, metadata={META_GPUS: str(gpus)} if gpus is not None else None,
                           driver_node_id=node)


@pytest.mark.parametrize("jobs,expected", [
    ([], 2),
    ([_job("RUNNING", 1, "a")], 1),  # a: 1 left, b: 1 left
    ([_job("RUNNING", 2, "a")], 1),  # b's GPU
    ([_job("RUNNING", 1, "a"), _job("PENDING", 1)], 0),  # the pending one takes a GPU somewhere
    ([_job("SUCCEEDED", 2, "a"), _job("FAILED", 2, "a"), _job("STOPPED", 2, "a")], 2),  # finished jobs hold nothing
    ([_job("RUNNING", None, "a"), _job("RUNNING", 0, "a")], 2),  # not semiocr's, or CPU only
])
def test_free_gpus_counts_the_gpus_of_running_and_pending_semiocr_jobs(jobs, expected):
    assert free_gpus({"a": 2.0, "b": 1.0}, jobs) == expected
