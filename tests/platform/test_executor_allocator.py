"""Managed CPU runs start under tcmalloc where it is installed: the local executor's process group and the Ray
entry wrapper, each starting a real process that reads its own memory map (a shell script stands in for the job,
so no training runs)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from semiocr.core.allocator import CACHING_ALLOCATORS, find_library
from semiocr.platform.executors.base import Attempt
from semiocr.platform.executors.local import LocalExecutor
from semiocr.platform.executors.ray import RayExecutor

#: prints which caching allocator its own process has mapped (stands in for ``python -m semiocr.cli.main …``)
REPORTER = "#!/bin/sh\nif grep -q libtcmalloc /proc/$$/maps; then echo tcmalloc; else echo system; fi\n"

needs_tcmalloc = pytest.mark.skipif(find_library(CACHING_ALLOCATORS["tcmalloc"]) is None,
                                    reason="tcmalloc is not installed (Debian: libtcmalloc-minimal4)")


def _ray_entry_allocator(reporter: str, **env: str) -> str:
    """What ``reporter`` prints when the Ray entry wrapper starts it with ``env`` added to this environment."""
    return subprocess.run([sys.executable, "-m", "semiocr.platform.executors.ray_entry", "--", reporter],
                          env={**os.environ, **env}, capture_output=True, text=True, check=True).stdout.strip()


def _allocator_of(tmp_path: Path, executor: LocalExecutor, gpus: int = 0) -> str:
    """Start one attempt with ``executor``; what its process reported."""
    attempt = Attempt(run_id=1, attempt=1, config_path=tmp_path / "job.yaml", events_path=tmp_path / "events.jsonl",
                      log_path=tmp_path / f"log-{time.monotonic_ns()}.txt", gpus=gpus)
    handle = executor.start(attempt)
    deadline = time.monotonic() + 30
    while (outcome := executor.poll(handle, attempt)).status == "running":
        assert time.monotonic() < deadline, "the attempt did not end"
        time.sleep(0.05)
    assert outcome.status == "succeeded", outcome.reason
    return attempt.log_path.read_text().strip()


@pytest.fixture
def reporter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.delenv("LD_PRELOAD", raising=False)
    script = tmp_path / "python"
    script.write_text(REPORTER)
    script.chmod(0o755)
    return str(script)


@needs_tcmalloc
def test_cpu_attempts_run_under_tcmalloc_unless_the_worker_says_system(tmp_path: Path, reporter: str) -> None:
    assert _allocator_of(tmp_path, LocalExecutor(python=reporter)) == "tcmalloc"
    assert _allocator_of(tmp_path, LocalExecutor(python=reporter, allocator="system")) == "system"


@needs_tcmalloc
def test_gpu_attempts_keep_the_system_malloc(tmp_path: Path, reporter: str) -> None:
    assert _allocator_of(tmp_path, LocalExecutor(gpus=1, python=reporter), gpus=1) == "system"


def test_an_unknown_allocator_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="'mimalloc' is not one of tcmalloc, system"):
        LocalExecutor(allocator="mimalloc")
    with pytest.raises(ValueError, match="is not one of"):
        RayExecutor(allocator="mimalloc")


@needs_tcmalloc
def test_the_ray_entry_wrapper_preloads_tcmalloc_when_the_job_asks(reporter: str) -> None:
    assert _ray_entry_allocator(reporter, SEMIOCR_ALLOCATOR="tcmalloc") == "tcmalloc"
    assert _ray_entry_allocator(reporter, SEMIOCR_ALLOCATOR="system") == "system"
    assert _ray_entry_allocator(reporter) == "system"
