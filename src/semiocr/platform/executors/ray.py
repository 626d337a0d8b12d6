"""The Ray executor: each attempt is a Ray job, submitted through the Ray Jobs API (the dashboard address,
``http://<head>:8265``), running the same entry command as the local executor (``semiocr train job …``,
torchrun inside the job for several GPUs).

Ray executes; it does not queue. The database stays the only queue and decides the order: ``capacity_gpus()``
reports the GPUs free on the cluster now, and the scheduler submits only runs that fit (Ray fails a job that
waits too long for resources, and does not keep submission order).

* **Submission id**: ``semiocr-<namespace>-run-<id>-attempt-<n>`` (``handle_for``), written to the run's row
  *before* the job is submitted, so no job ever runs that the database does not know. The namespace (a hash of
  the database URL by default) keeps two installations, or a recreated database, from sharing ids on one
  cluster. Submitting an id that exists already is taken as "submitted" (a retry never runs an attempt twice),
  after checking that the existing job runs the same frozen config.
* **Resources**: ``entrypoint_num_gpus`` is the run's GPU count; Ray sets ``CUDA_VISIBLE_DEVICES``.
* **Stop**: ``stop_job`` sends SIGTERM; the job saves ``latest.pt`` and exits with code 3. Ray kills it after
  ``RAY_JOB_STOP_WAIT_TIME_S`` (the executor's ``stop_wait_s``, set in each job's environment), so give it long
  enough to write a checkpoint.
* **Status**, reconciled on every poll: PENDING/RUNNING → running; SUCCEEDED → succeeded; STOPPED → stopped;
  FAILED → the job's exit code when Ray has it (3 stopped, 2 bad input with the log's tail, else failed), Ray's
  message otherwise; a job Ray does not know (its head restarted: job history lives in the head's memory) →
  failed, resumable. While the Jobs API is unreachable a run stays running, for ``unreachable_s`` at most.
* **Logs**: what ``get_job_logs`` returns is appended to the attempt's log file
  (``$SEMIOCR_HOME/runs/<id>/attempt-<n>.log``), so ``semiocr runs logs`` reads both executors alike.
* **Orphans**: the entry command goes through ``semiocr.platform.executors.ray_entry``, which makes the job stop
  (SIGTERM: checkpoint, exit) when its Ray supervisor dies with a node or head.
* **Allocator**: a job without GPUs gets ``SEMIOCR_ALLOCATOR`` (the executor's ``allocator``); the entry wrapper
  preloads tcmalloc for it where the node has it installed (``semiocr.core.allocator``).

**Shared storage.** Every node that may run a job must see ``$SEMIOCR_HOME`` at the same path, on storage all
nodes and the workers share (NFS, a cluster file system): the job reads its frozen config and dataset from it,
writes its checkpoints to the run's output directory (``runs/<id>/output``, which a resumed attempt continues
from, possibly on another node) and appends its events to ``runs/<id>/events.jsonl``, which the worker reads.
Jobs get ``SEMIOCR_HOME`` and ``SEMIOCR_DATABASE_URL`` in their environment (visible to whoever can read the Ray
dashboard: prefer a database URL without a password, e.g. with a ``~/.pgpass`` on the nodes), and run the
worker's Python (``sys.executable``) unless ``python`` names another, which must exist on every node with
semiocr installed.

Ray is an optional dependency (``pip install 'semiocr[ray]'``), imported only when an executor talks to it.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from semiocr.core.allocator import ALLOCATOR_ENV, check_allocator, job_allocator
from semiocr.core.workspace import HOME_ENV
from semiocr.platform.executors.base import Attempt, Outcome, outcome_of_exit
from semiocr.platform.settings import DATABASE_URL_ENV, get_settings

log = logging.getLogger(__name__)

STOP_WAIT_ENV = "RAY_JOB_STOP_WAIT_TIME_S"
#: metadata of every job semiocr submits (Ray's job details do not report a job's resources)
META_RUN, META_ATTEMPT, META_GPUS, META_CONFIG = "semiocr_run", "semiocr_attempt", "semiocr_gpus", "semiocr_config"
ACTIVE = ("PENDING", "RUNNING")


class RayUnavailable(RuntimeError):
    """The Ray Jobs API cannot be used (ray not installed, or the address does not answer)."""


def job_client(address: str, timeout_s: float) -> Any:
    """A ``JobSubmissionClient`` whose requests time out after ``timeout_s`` (a hung head must not hang the
    scheduler)."""
    try:
        from ray.job_submission import JobSubmissionClient
    except ImportError as e:
        raise RayUnavailable("the Ray executor needs Ray: pip install 'semiocr[ray]'") from e

    class _Client(JobSubmissionClient):
        def _do_request(self, method: str, endpoint: str, **kwargs: Any) -> Any:
            kwargs.setdefault("timeout", timeout_s)
            return super()._do_request(method, endpoint, **kwargs)

    try:
        return _Client(address)
    except (OSError, RuntimeError) as e:
        raise RayUnavailable(f"Ray Jobs API at {address}: {short(e)}") from e


def short(e: BaseException) -> str:
    """The last line of an error (Ray's HTTP errors carry the server's whole traceback)."""
    lines = [x.strip() for x in str(e).strip().splitlines() if x.strip() not in ("", ".")]
    return (lines[-1] if lines else type(e).__name__)[:500]


def is_missing(e: BaseException) -> bool:
    """Whether a Jobs API error says the job does not exist."""
    return isinstance(e, RuntimeError) and "status code 404" in str(e)


def status_of(info: Any) -> str:
    return str(getattr(info.status, "value", info.status))


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class RayExecutor:
    """Runs attempts as Ray jobs on the cluster whose Jobs API (dashboard) is at ``address``.

    ``stop_wait_s``: how long a stopped job may take to save a checkpoint before Ray kills it. ``python``: the
    interpreter jobs run (default: this one). ``namespace``: part of every submission id (default: a hash of
    the database URL). ``env``: more environment variables for every job. ``log_interval_s``: how often a running
    job's log is copied. ``unreachable_s``: how long a run stays running while the Jobs API does not answer.
    ``allocator``: the malloc of jobs without GPUs (``semiocr.core.allocator.ALLOCATORS``).
    """

    name = "ray"

    def __init__(self, address: str = "http://127.0.0.1:8265", stop_wait_s: float = 60.0, *, python: str | None = None,
                 namespace: str | None = None, env: dict[str, str] | None = None, log_interval_s: float = 2.0,
                 unreachable_s: float = 300.0, timeout_s: float = 30.0, allocator: str = "tcmalloc"):
        self.allocator = check_allocator(allocator)
        if stop_wait_s <= 0:
            raise ValueError(f"stop_wait_s: must be positive (got {stop_wait_s})")
        self.address, self.stop_wait_s = address.rstrip("/"), stop_wait_s
        self.python, self.env = python or sys.executable, dict(env or {})
        self.namespace = namespace or hashlib.sha256(get_settings().database_url.encode()).hexdigest()[:8]
        self.log_interval_s, self.unreachable_s, self.timeout_s = log_interval_s, unreachable_s, timeout_s
        self._client_obj: Any = None
        self._stopping: set[str] = set()
        self._log_copied: dict[str, float] = {}
        self._unreachable_since: dict[str, float] = {}

    def _client(self) -> Any:
        if self._client_obj is None:
            self._client_obj = job_client(self.address, self.timeout_s)
        return self._client_obj

    # -- the executor contract -------------------------------------------------------------------------
    def handle_for(self, attempt: Attempt) -> str:
        """The submission id of ``attempt``: known before submitting, so the scheduler records it first."""
        return f"semiocr-{self.namespace}-run-{attempt.run_id}-attempt-{attempt.attempt}"

    def entrypoint(self, attempt: Attempt) -> str:
        """The shell command Ray runs: the attempt's command with every process (torchrun and its ranks too)
        behind the ``ray_entry`` wrapper; ``exec``: no shell stays between the job and Ray's supervisor."""
        wrapper = (self.python, "-m", "semiocr.platform.executors.ray_entry", "--")
        return "exec " + shlex.join(attempt.command(self.python, wrapper))

    def job_env(self, attempt: Attempt) -> dict[str, str]:
        settings = get_settings()
        return {HOME_ENV: str(settings.home), DATABASE_URL_ENV: settings.database_url, "PYTHONUNBUFFERED": "1",
                STOP_WAIT_ENV: str(max(1, math.ceil(self.stop_wait_s))),  # Ray parses an integer
                ALLOCATOR_ENV: job_allocator(self.allocator, attempt.gpus), **self.env, **dict(attempt.env)}

    def start(self, attempt: Attempt) -> str:
        """Submit ``attempt`` (once: an existing job with its submission id is the attempt, already submitted)."""
        sid = self.handle_for(attempt)
        config = sha256_file(attempt.config_path)
        metadata = {META_RUN: str(attempt.run_id), META_ATTEMPT: str(attempt.attempt), META_GPUS: str(attempt.gpus),
                    META_CONFIG: config}
        try:
            self._client().submit_job(entrypoint=self.entrypoint(attempt), submission_id=sid,
                                      entrypoint_num_gpus=attempt.gpus or None, metadata=metadata,
                                      runtime_env={"env_vars": self.job_env(attempt)})
        except RayUnavailable:
            raise
        except RuntimeError as e:
            if "already exists" not in str(e):
                raise RuntimeError(f"Ray at {self.address} refused job {sid}: {short(e)}") from None
            self._check_same_job(sid, config, attempt)
        except OSError as e:  # the request may have reached Ray: a job that may run must not outlive the failure
            self._stop_quietly(sid)
            raise RuntimeError(f"Ray at {self.address} did not answer the submission of {sid}: {short(e)}") from None
        attempt.log_path.parent.mkdir(parents=True, exist_ok=True)
        attempt.log_path.touch()  # the attempt's log exists once it started (filled as Ray reports it)
        return sid

    def poll(self, handle: str, attempt: Attempt) -> Outcome:
        try:
            info = self._client().get_job_info(handle)
        except Exception as e:  # noqa: BLE001 - any Jobs API trouble is reconciled, never raised into the scheduler
            if is_missing(e):
                self._forget(handle)
                return Outcome("failed", f"Ray at {self.address} has no job {handle} (its head restarted or lost "
                                         "the job, or the worker died before submitting it); resume continues from "
                                         "the last checkpoint")
            return self._unreachable(handle, e)
        self._unreachable_since.pop(handle, None)
        status = status_of(info)
        if status in ACTIVE:
            self._copy_log(handle, attempt.log_path)
            return Outcome("running")
        self._copy_log(handle, attempt.log_path, force=True)
        self._forget(handle)
        return self._outcome(handle, status, info, attempt.log_path)

    def stop(self, handle: str, grace_s: float) -> None:
        """Ask Ray to stop the job (SIGTERM, SIGKILL after ``stop_wait_s``: the grace period is the job's, set
        when it was submitted, so ``grace_s`` is not used). Asked once; retried while Ray does not answer."""
        if handle in self._stopping:
            return
        try:
            self._client().stop_job(handle)
        except Exception as e:  # noqa: BLE001 - unreachable: asked again at the next tick; unknown: poll says so
            if not is_missing(e):
                log.warning("could not stop Ray job %s (retrying): %s", handle, short(e))
                return
        self._stopping.add(handle)

    def capacity_gpus(self) -> int:
        """GPUs free on the cluster for a new attempt (``free_gpus``); -1 while Ray does not answer (nothing
        starts)."""
        try:
            jobs = self._client().list_jobs()
            nodes = self._node_gpus()
        except Exception as e:  # noqa: BLE001 - an unreachable cluster has no capacity
            log.warning("Ray at %s: no capacity known: %s", self.address, short(e))
            return -1
        return free_gpus(nodes, jobs)

    def _node_gpus(self) -> dict[str, float]:
        """GPUs of each alive node (the state API of the dashboard)."""
        from ray.util.state import list_nodes

        nodes = list_nodes(address=self.address, filters=[("state", "=", "ALIVE")], limit=10_000,
                           timeout=int(self.timeout_s), raise_on_missing_output=False)
        return {n.node_id: float((n.resources_total or {}).get("GPU", 0.0)) for n in nodes}

    # -- helpers ---------------------------------------------------------------------------------------
    def _outcome(self, handle: str, status: str, info: Any, log_path: Path) -> Outcome:
        if status == "SUCCEEDED":
            return Outcome("succeeded")
        if status == "STOPPED":
            if _stopped_itself(log_path):
                return Outcome("stopped", "stopped on request; resume continues from the last checkpoint")
            return Outcome("stopped", f"stopped by Ray before the job saved a checkpoint (not started yet, or killed "
                                      f"after the {self.stop_wait_s:g} s grace period); resume continues from the "
                                      "last checkpoint it saved")
        if info.driver_exit_code is not None:
            return outcome_of_exit(int(info.driver_exit_code), log_path)
        message = " ".join((info.message or "no message").split())[:1000]
        return Outcome("failed", f"Ray job {handle} {status.lower()}: {message}; resume continues from the last "
                                 "checkpoint")

    def _unreachable(self, handle: str, e: BaseException) -> Outcome:
        since = self._unreachable_since.setdefault(handle, time.monotonic())
        waited = time.monotonic() - since
        if waited < self.unreachable_s:
            log.warning("Ray at %s: no status of job %s for %.0f s: %s", self.address, handle, waited, short(e))
            return Outcome("running")
        self._forget(handle)
        return Outcome("failed", f"Ray at {self.address} gave no status of job {handle} for {waited:.0f} s "
                                 f"({short(e)}); resume continues from the last checkpoint")

    def _copy_log(self, handle: str, log_path: Path, force: bool = False) -> None:
        """Append what the job logged since the last copy (the file's size is what was copied)."""
        now = time.monotonic()
        if not force and now - self._log_copied.get(handle, -math.inf) < self.log_interval_s:
            return
        try:
            data = self._client().get_job_logs(handle).encode("utf-8", errors="replace")
        except Exception as e:  # noqa: BLE001 - the log catches up at the next copy
            log.warning("could not read the log of Ray job %s: %s", handle, short(e))
            return
        self._log_copied[handle] = now
        log_path.parent.mkdir(parents=True, exist_ok=True)
        have = log_path.stat().st_size if log_path.is_file() else 0
        if len(data) > have:
            with log_path.open("ab") as f:
                f.write(data[have:])

    def _check_same_job(self, sid: str, config: str, attempt: Attempt) -> None:
        try:
            existing = self._client().get_job_info(sid).metadata or {}
        except Exception as e:  # noqa: BLE001
            raise RuntimeError(f"Ray job {sid} exists but could not be read: {short(e)}") from None
        if existing.get(META_CONFIG) != config:
            raise RuntimeError(f"Ray job {sid} exists already and runs another config than {attempt.config_path} "
                               "(another semiocr database with the same namespace on this cluster?)")

    def _stop_quietly(self, handle: str) -> None:
        with contextlib.suppress(Exception):  # best effort: the job may not exist
            self._client().stop_job(handle)

    def _forget(self, handle: str) -> None:
        self._stopping.discard(handle)
        self._log_copied.pop(handle, None)
        self._unreachable_since.pop(handle, None)


def free_gpus(node_gpus: dict[str, float], jobs: list[Any]) -> int:
    """The most GPUs one node has left once the semiocr jobs running there are counted, less the GPUs of semiocr
    jobs still pending (their node is not known yet); a run's GPUs are on one node (torchrun ``--standalone``).
    GPUs held by other workloads are not seen: a job that does not fit waits in Ray, which fails it after
    ``RAY_JOB_START_TIMEOUT_SECONDS``."""
    free, pending = dict(node_gpus), 0.0
    for job in jobs:
        gpus = float((job.metadata or {}).get(META_GPUS, 0) or 0)
        if not gpus or status_of(job) not in ACTIVE:
            continue
        if status_of(job) == "RUNNING" and job.driver_node_id in free:
            free[job.driver_node_id] -= gpus
        else:
            pending += gpus
    return max(0, math.floor(max(free.values(), default=0.0) - pending))


def _stopped_itself(log_path: Path) -> bool:
    """Whether the attempt's log has the job's own stop message (``semiocr train``: "stopped: …"; torchrun may
    log its own shutdown after it)."""
    if not log_path.is_file():
        return False
    with log_path.open(encoding="utf-8", errors="replace") as f:
        return any(line.startswith("stopped: ") for line in f)
