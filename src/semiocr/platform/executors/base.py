"""The executor contract every executor implements (and one contract test suite checks)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

Status = Literal["running", "succeeded", "stopped", "failed"]

#: exit codes of ``semiocr train job`` (``semiocr.cli.train``)
EXIT_SUCCEEDED, EXIT_BAD_INPUT, EXIT_STOPPED = 0, 2, 3


@dataclass(frozen=True)
class Attempt:
    """What an executor needs to run one attempt of a run."""

    run_id: int
    attempt: int
    config_path: Path  # the frozen job config of this attempt (YAML)
    events_path: Path  # where the job writes its events (JSONL)
    log_path: Path  # console output of the attempt
    gpus: int = 0
    overrides: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()  # e.g. SEMIOCR_USER: whose marked weights the job may name

    def command(self, python: str, wrapper: tuple[str, ...] = ()) -> list[str]:
        """The entry command: the same ``semiocr train job`` for every executor (torchrun for several GPUs).
        ``wrapper`` prefixes every process of the job: the single one, or torchrun and each of its ranks."""
        args = ["-m", "semiocr.cli.main", "train", "job", "-c", str(self.config_path), "--events",
                str(self.events_path)]
        for o in self.overrides:
            args += ["-o", o]
        if self.gpus > 1:
            torchrun = [*wrapper, python, "-m", "torch.distributed.run", "--standalone",
                        f"--nproc_per_node={self.gpus}"]
            return [*torchrun, "--no-python", *wrapper, python, *args] if wrapper else [*torchrun, *args]
        return [*wrapper, python, *args]


@dataclass(frozen=True)
class Outcome:
    status: Status
    reason: str | None = None


class Executor(Protocol):
    """Starts, watches and stops attempts; ``handle`` is what the run row stores (pid, submission id).

    ``start`` is idempotent per attempt: starting an attempt that is already started returns its handle and runs
    nothing more. An executor whose handle is known before the attempt starts (Ray: the submission id) also has
    ``handle_for(attempt) -> str``; the scheduler then records the handle before calling ``start``, so a worker
    that dies in between leaves a handle naming no job (reported as failed by ``poll``), never a job that the
    database does not know.
    """

    name: str

    def start(self, attempt: Attempt) -> str: ...

    def poll(self, handle: str, attempt: Attempt) -> Outcome: ...

    def stop(self, handle: str, grace_s: float) -> None: ...

    def capacity_gpus(self) -> int | None:
        """GPUs free for new attempts (None: no limit; negative: nothing can start now, e.g. the cluster does not
        answer)."""
        ...


def outcome_of_exit(code: int, log_path: Path) -> Outcome:
    """Map the job's exit code to a run outcome (the log's tail explains failures)."""
    if code == EXIT_SUCCEEDED:
        return Outcome("succeeded")
    if code == EXIT_STOPPED:
        return Outcome("stopped", "stopped on request; resume continues from the last checkpoint")
    tail = _tail(log_path)
    if code < 0:
        return Outcome("failed", f"killed by signal {-code}{tail}")
    what = "bad input" if code == EXIT_BAD_INPUT else f"exit code {code}"
    return Outcome("failed", f"{what}{tail}")


def _tail(path: Path, lines: int = 5) -> str:
    """What explains a failure, from the attempt's log: its last ``lines`` lines, or for a torchrun job the failing
    rank's own last words and torchrun's verdict on it (the summary alone names no cause)."""
    if not path.is_file():
        return ""
    text = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    summary = _torchrun_root_cause(text)
    picked = summary if summary is not None else [t.strip() for t in text[-lines:]]
    return (": " + " | ".join(picked))[:2000] if picked else ""


#: a line a failing rank prints about its own end (torch prefixes a rank's traceback with ``[rankN]:``): a Python
#: exception, a C++ ``std::terminate``, the shell's note of a kill; torchrun's own lines (``E1130 … api.py:…]``) are
#: not causes
_CAUSE = re.compile(r"^(\[rank\d+\]:\s*)?"
                    r"(\S+(Error|Exception|Interrupt)\b.*|terminate called .*|\s*what\(\):.*|Killed)$")


def _torchrun_root_cause(text: list[str]) -> list[str] | None:
    """For a log that ends in torchrun's failure summary: the last (up to two) lines the ranks printed about their
    own end, then the rank, exit code and signal of torchrun's first observed failure ("Root Cause"). None when the
    log has no such summary."""
    try:
        start = max(i for i, t in enumerate(text) if t.startswith("Root Cause (first observed failure)"))
    except ValueError:
        return None
    block = "\n".join(text[start + 1:])
    rank = re.search(r"^\s*rank\s*:\s*(\d+)", block, re.M)
    code = re.search(r"^\s*exitcode\s*:\s*(-?\d+)[^\n]*?(\(SIG\w+\))?\s*$", block, re.M)
    where = (f"rank {rank.group(1) if rank else '?'} exit code {code.group(1) if code else '?'}"
             f"{' ' + code.group(2) if code and code.group(2) else ''}")
    failed_at = next((i for i in range(start, -1, -1) if "ChildFailedError" in text[i]), start)
    causes = [t.strip() for t in text[:failed_at] if _CAUSE.match(t) and "ChildFailedError" not in t]
    return [*causes[-2:], where]
