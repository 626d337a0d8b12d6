"""The entry wrapper of Ray jobs: ``python -m semiocr.platform.executors.ray_entry -- <command…>``.

Ray starts a job's entrypoint (a shell command) as a child of the job's supervisor actor. When the supervisor
dies with its node or head (``ray stop --force``, a crashed head), Ray's clean-up does not reach all the job's
processes: a process below the shell, or a torchrun rank (torchrun starts each in its own session), goes on
training beside the attempt that resumes it. So the Ray executor puts this wrapper in front of every process of
the job (``exec``-ed by the shell, and by torchrun for each rank): it asks Linux to send the process SIGTERM when
its parent dies (``PR_SET_PDEATHSIG``, kept across ``exec``) and then becomes the command. The job handles
SIGTERM like a stop request (saves ``latest.pt``, exits with code 3) unless it is killed first. Elsewhere than
Linux the wrapper only runs the command. With ``SEMIOCR_ALLOCATOR=tcmalloc`` (a job without GPUs) the command
starts with tcmalloc preloaded where this node has it (``semiocr.core.allocator``).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

from semiocr.core.allocator import ALLOCATOR_ENV, preload_env

PR_SET_PDEATHSIG = 1


def exit_with_parent(sig: int = signal.SIGTERM) -> None:
    """Receive ``sig`` when the parent process ends (Linux); exit at once if it has ended already."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
        err = ctypes.get_errno()
        print(f"ray_entry: prctl(PR_SET_PDEATHSIG) failed: {os.strerror(err)}", file=sys.stderr)
        return
    if os.getppid() == 1:  # the parent died before the request: nobody is watching this job any more
        print("ray_entry: the Ray supervisor of this job is gone; not starting", file=sys.stderr)
        raise SystemExit(1)


def main(argv: list[str]) -> None:
    args = argv[1:] if argv[:1] == ["--"] else argv
    if not args:
        raise SystemExit("usage: python -m semiocr.platform.executors.ray_entry -- <command> [args…]")
    exit_with_parent()
    env = dict(os.environ)
    if env.get(ALLOCATOR_ENV) == "tcmalloc":
        env.update(preload_env(env))
    sys.stdout.flush()
    os.execvpe(args[0], args, env)


if __name__ == "__main__":
    main(sys.argv[1:])
