"""A local Ray head for the executor contract tests: ``ray start --head --block`` with two declared (fake) GPUs,
two CPUs, the dashboard (Jobs API) on a free port and its own temporary directory.

The head is this process's child (``--block``): stopping or crashing it ends only its own processes (``ray stop``
would end every Ray process of the machine, other people's too); its processes share the head's fate (Ray's
kernel fate sharing), and ``stop`` ends any that outlive it: those of its process tree, and those whose command
line names its temporary directory.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ray_cli() -> str:
    here = Path(sys.executable).with_name("ray")
    found = str(here) if here.is_file() else shutil.which("ray")
    if found is None:
        raise RuntimeError("no `ray` command beside this Python or on PATH: pip install 'semiocr[ray]'")
    return found


class RayHead:
    """One local head; ``start``, ``crash`` (SIGKILL, like a lost head node) and ``stop`` keep its ports, so
    ``address`` stays valid across a restart."""

    def __init__(self, gpus: int = 2, cpus: int = 2) -> None:
        self.gpus, self.cpus = gpus, cpus
        self.temp_dir = Path(tempfile.mkdtemp(prefix="semiocr-ray-"))  # short: Ray's socket paths must fit 107 bytes
        self.ports = {name: free_port() for name in ("port", "dashboard-port", "ray-client-server-port",
                                                     "dashboard-agent-listen-port", "dashboard-agent-grpc-port",
                                                     "runtime-env-agent-port", "metrics-export-port",
                                                     "node-manager-port", "object-manager-port")}
        self.address = f"http://127.0.0.1:{self.ports['dashboard-port']}"
        self.log = self.temp_dir / "head.log"
        self.proc: subprocess.Popen | None = None
        self._probes = 0

    def command(self) -> list[str]:
        cmd = [ray_cli(), "start", "--head", "--block", f"--num-cpus={self.cpus}", f"--num-gpus={self.gpus}",
               "--disable-usage-stats", "--include-dashboard=true", "--dashboard-host=127.0.0.1",
               "--node-ip-address=127.0.0.1",
               "--object-store-memory=100000000", f"--temp-dir={self.temp_dir}"]
        return cmd + [f"--{name}={port}" for name, port in self.ports.items()]

    def start(self, timeout_s: float = 120.0) -> None:
        """Start the head and return once a trivial job has run through the Jobs API."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
        env["RAY_USAGE_STATS_ENABLED"] = "0"
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, env=env)
        self._wait_ready(timeout_s)

    def _wait_ready(self, timeout_s: float) -> None:
        from ray.job_submission import JobSubmissionClient

        deadline = time.monotonic() + timeout_s
        self._probes += 1
        probe, last = f"probe-{self._probes}", None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"ray start exited with {self.proc.returncode}; see {self.log}")
            try:
                client = JobSubmissionClient(self.address)
                with contextlib.suppress(RuntimeError):  # already submitted by an earlier pass
                    client.submit_job(entrypoint="true", submission_id=probe)
                if str(client.get_job_status(probe).value) == "SUCCEEDED":
                    return
            except Exception as e:  # noqa: BLE001 - not up yet
                last = e
            time.sleep(0.5)
        raise RuntimeError(f"the Ray head at {self.address} was not ready after {timeout_s} s ({last}); see {self.log}")

    def crash(self) -> None:
        """SIGKILL the head, as if its node were lost; returns once none of its processes is left."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._reap_leftovers()

    def stop(self) -> None:
        """Stop the head (SIGTERM, SIGKILL after 30 s) and end whatever of its process tree is left (some of its
        processes rename themselves, so the temporary directory does not find them all)."""
        tree: dict[int, str] = {}
        if self.proc is not None and self.proc.poll() is None:
            tree = descendants(self.proc.pid)
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reap_leftovers()
        deadline = time.monotonic() + 10
        while (alive := [p for p, cmd in tree.items() if cmdline(p) == cmd]) and time.monotonic() < deadline:
            time.sleep(0.5)
        for pid in alive:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.temp_dir, ignore_errors=True)

    def leftovers(self) -> list[int]:
        """Processes (other than this one) whose command line names this head's temporary directory."""
        return processes_naming(str(self.temp_dir))

    def _reap_leftovers(self, timeout_s: float = 15.0) -> None:
        deadline = time.monotonic() + timeout_s
        while self.leftovers() and time.monotonic() < deadline:
            time.sleep(0.5)
        for pid in self.leftovers():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


def _stat(pid: int) -> list[str]:
    """The fields of ``/proc/<pid>/stat`` after the command name (state, ppid, …); empty when it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def cmdline(pid: int) -> str | None:
    """The command line of a live process (None: gone or a zombie)."""
    try:
        text = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None
    stat = _stat(pid)
    return text if stat and stat[0] != "Z" else None


def descendants(pid: int) -> dict[int, str]:
    """The live processes below ``pid``, with their command lines."""
    children: dict[int, list[int]] = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and len(stat := _stat(int(proc.name))) > 1:
            children.setdefault(int(stat[1]), []).append(int(proc.name))
    found: dict[int, str] = {}
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if (cmd := cmdline(child)) is not None:
                found[child] = cmd
            todo.append(child)
    return found


def processes_naming(text: str) -> list[int]:
    """Pids of live processes (not zombies, not this one) whose command line contains ``text``."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        cmd = cmdline(int(proc.name))
        if cmd is not None and text in cmd:
            found.append(int(proc.name))
    return found
