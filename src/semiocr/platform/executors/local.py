"""The local executor: each attempt is a subprocess of the worker in its own process group (crash isolation,
GPU memory freed when it ends). Stop = SIGTERM to the group (the job saves a checkpoint and exits with code 3),
then SIGKILL after the grace period; when the job ends, whatever is left of its process tree is killed. CPU attempts
start under tcmalloc where it is installed (``semiocr.core.allocator``: 1.7-3.4x faster steps on wide lines)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from semiocr.core.allocator import check_allocator, job_allocator, preload_env
from semiocr.platform.executors.base import Attempt, Outcome, outcome_of_exit


@dataclass
class _Proc:
    popen: subprocess.Popen
    key: tuple[int, int]  # (run id, attempt)
    gpus: int = 0
    kill_at: float | None = None


class LocalExecutor:
    """Runs attempts as local processes; ``gpus`` is how many GPUs this worker may hand out (0: CPU only);
    ``allocator``: one of ``semiocr.core.allocator.ALLOCATORS``, the malloc of attempts that get no GPU."""

    name = "local"

    def __init__(self, gpus: int = 0, python: str | None = None, env: dict[str, str] | None = None,
                 allocator: str = "tcmalloc"):
        self.gpus, self.python, self.env = gpus, python or sys.executable, env
        self.allocator = check_allocator(allocator)
        self._procs: dict[str, _Proc] = {}

    def capacity_gpus(self) -> int:
        return self.gpus - sum(p.gpus for p in self._procs.values())

    def start(self, attempt: Attempt) -> str:
        """Start ``attempt`` as a process group; an attempt this executor runs already is not started again."""
        key = (attempt.run_id, attempt.attempt)
        running = next((h for h, p in self._procs.items() if p.key == key), None)
        if running is not None:
            return running
        attempt.log_path.parent.mkdir(parents=True, exist_ok=True)
        with attempt.log_path.open("ab") as log:
            popen = subprocess.Popen(attempt.command(self.python), stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True, env=self.env_of(attempt))
        handle = str(popen.pid)
        self._procs[handle] = _Proc(popen, key, attempt.gpus)
        return handle

    def env_of(self, attempt: Attempt) -> dict[str, str]:
        """The environment ``attempt`` runs with: the worker's, this executor's, the attempt's own, and tcmalloc
        preloaded for an attempt without GPUs (unless ``allocator`` is "system" or a caching allocator is preloaded
        already)."""
        env = {**os.environ, **(self.env or {}), **dict(attempt.env), "PYTHONUNBUFFERED": "1"}
        if job_allocator(self.allocator, attempt.gpus) == "tcmalloc":
            env.update(preload_env(env))
        return env

    def poll(self, handle: str, attempt: Attempt) -> Outcome:
        proc = self._procs.get(handle)
        if proc is None:
            if pid_alive(int(handle)):
                kill_group(int(handle), signal.SIGKILL)
            return Outcome("failed", f"the worker lost its process {handle} (worker restarted?)")
        code = proc.popen.poll()
        if code is None:
            if proc.kill_at is not None and time.monotonic() >= proc.kill_at:
                kill_group(proc.popen.pid, signal.SIGKILL)
            return Outcome("running")
        kill_group(proc.popen.pid, signal.SIGKILL)  # no orphans: DataLoader workers, torchrun children
        del self._procs[handle]
        out = outcome_of_exit(code, attempt.log_path)
        if proc.kill_at is not None and code == -signal.SIGKILL:
            return Outcome("stopped", "did not stop within the grace period: killed (resume continues from the last "
                                      "checkpoint it saved)")
        if proc.kill_at is not None and code == -signal.SIGTERM:  # stopped before it could install its handler
            return Outcome("stopped", "stopped while starting; resume continues from the last checkpoint")
        return out

    def stop(self, handle: str, grace_s: float) -> None:
        proc = self._procs.get(handle)
        if proc is None or proc.kill_at is not None:
            return
        kill_group(proc.popen.pid, signal.SIGTERM)
        proc.kill_at = time.monotonic() + grace_s


def kill_group(pid: int, sig: int) -> None:
    """Send ``sig`` to the process group led by ``pid`` (gone already: nothing to do)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie (an exited orphan its new parent has not reaped yet)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"
