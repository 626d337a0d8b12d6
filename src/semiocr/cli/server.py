"""``semiocr worker`` (a scheduler alone, e.g. on another machine sharing a PostgreSQL database) and
``semiocr server`` (the HTTP API and a scheduler in one process, SQLite by default)."""

from __future__ import annotations

import signal
import threading

import typer

WORKER_OPTS = {
    "executor": typer.Option("local", "--executor", help="local | ray"),
    "gpus": typer.Option(0, "--gpus", min=0, help="local executor: GPUs this worker hands out"),
    "max_running": typer.Option(1, "--max-running", min=1, help="runs executed at the same time"),
    "poll": typer.Option(1.0, "--poll", help="seconds between scheduler passes"),
    "grace": typer.Option(60.0, "--grace", help="seconds a stopped job has to save a checkpoint before SIGKILL"),
    "ray_address": typer.Option("http://127.0.0.1:8265", "--ray-address", help="Ray dashboard (Jobs API) address"),
    "allocator": typer.Option("tcmalloc", "--allocator",
                              help="malloc of runs without GPUs: tcmalloc (preloaded where installed) | system"),
}


def make_scheduler(executor: str, gpus: int, max_running: int, poll: float, grace: float, ray_address: str,
                   allocator: str = "tcmalloc"):
    """A scheduler with the chosen executor."""
    from semiocr.platform.scheduler import Scheduler

    try:
        if executor == "local":
            from semiocr.platform.executors.local import LocalExecutor

            ex = LocalExecutor(gpus=gpus, allocator=allocator)
        elif executor == "ray":
            from semiocr.platform.executors.ray import RayExecutor

            ex = RayExecutor(ray_address, stop_wait_s=grace, allocator=allocator)
        else:
            raise ValueError(f"unknown executor {executor!r} (local | ray)")
    except ValueError as e:  # a bad --allocator, --grace or --executor
        raise typer.BadParameter(str(e)) from None
    return Scheduler(ex, poll_s=poll, grace_s=grace, max_running=max_running)


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def worker(executor: str = WORKER_OPTS["executor"], gpus: int = WORKER_OPTS["gpus"],
           max_running: int = WORKER_OPTS["max_running"], poll: float = WORKER_OPTS["poll"],
           grace: float = WORKER_OPTS["grace"], ray_address: str = WORKER_OPTS["ray_address"],
           allocator: str = WORKER_OPTS["allocator"]) -> None:
    """Execute queued runs until SIGTERM/Ctrl-C."""
    sched = make_scheduler(executor, gpus, max_running, poll, grace, ray_address, allocator)
    typer.echo(f"worker {sched.worker}: {executor} executor, up to {max_running} run(s) at a time", err=True)
    sched.serve(_stop_on_signals())


def server(host: str = typer.Option("127.0.0.1", "--host"), port: int = typer.Option(8000, "--port"),
           executor: str = WORKER_OPTS["executor"], gpus: int = WORKER_OPTS["gpus"],
           max_running: int = WORKER_OPTS["max_running"], poll: float = WORKER_OPTS["poll"],
           grace: float = WORKER_OPTS["grace"], ray_address: str = WORKER_OPTS["ray_address"],
           allocator: str = WORKER_OPTS["allocator"],
           no_worker: bool = typer.Option(False, "--no-worker", help="the API only (workers run elsewhere)")) -> None:
    """The management API (``/v1``, OpenAPI at ``/docs``) and a scheduler, until SIGTERM/Ctrl-C."""
    import uvicorn

    from semiocr.api.app import create_app

    stop = threading.Event()
    thread = None
    if not no_worker:
        sched = make_scheduler(executor, gpus, max_running, poll, grace, ray_address, allocator)
        thread = threading.Thread(target=sched.serve, args=(stop,), name="scheduler", daemon=True)
        thread.start()
    try:
        uvicorn.run(create_app(), host=host, port=port, log_level="info")
    finally:
        stop.set()
        if thread is not None:
            thread.join(timeout=10)
