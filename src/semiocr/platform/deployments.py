"""OCR deployments: one service process per deployment, serving one user's detector and recogniser with ONNX
Runtime (``semiocr.runtime.http``), reachable only with that user's personal access tokens of scope ``ocr``.

``create`` exports the weights (any weights name; an ``.onnx`` file is used as it is) into
``$SEMIOCR_HOME/deployments/<id>/models``, starts ``python -m semiocr.platform.serve <id>`` in its own process
group and waits until it answers ``/health``; ``stop`` ends that process. The state lives in the database.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from semiocr.platform.db import session, utcnow
from semiocr.platform.settings import get_settings
from semiocr.platform.tables import Deployment, User
from semiocr.platform.users import AuthError, authenticate

STARTING, RUNNING, STOPPED, FAILED = "starting", "running", "stopped", "failed"


class DeploymentNotFound(LookupError):
    """No such deployment for this user."""


def folder_of(deployment_id: int) -> Path:
    return get_settings().home / "deployments" / str(deployment_id)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def export_model(spec: str, out: Path, kind: str) -> Path:
    """``spec`` as an ONNX file at ``out``: an ``.onnx`` file is copied, any other weights name exported."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if spec.endswith(".onnx") and Path(spec).is_file():
        shutil.copyfile(spec, out)
        return out
    from semiocr.core.export.onnx import export_onnx

    export_onnx(spec, out, kind=kind)
    return out


def create(user_name: str, det: str, rec: str, *, name: str | None = None, host: str = "127.0.0.1",
           port: int | None = None, threads: int = 1, timeout_s: float = 120.0) -> Deployment:
    """Export, start and wait for a deployment of ``user_name``'s weights; returns its row (``running``)."""
    with session() as s:
        user = s.scalar(select(User).where(User.name == user_name))
        dep = Deployment(user_id=user.id, name=(name or f"{Path(det).name} + {Path(rec).name}")[:128], det=det, rec=rec,
                         folder="", host=host,
                         port=port or free_port(host), state=STARTING, created_at=utcnow())
        s.add(dep)
        s.flush()
        dep.folder = str(folder_of(dep.id))
        dep_id = dep.id
    folder = folder_of(dep_id)
    try:
        export_model(det, folder / "models" / "det.onnx", "det")
        export_model(rec, folder / "models" / "rec.onnx", "rec")
    except Exception as e:
        _finish(dep_id, FAILED, f"export failed: {e}")
        raise
    log = (folder / "service.log").open("ab")
    proc = subprocess.Popen([sys.executable, "-m", "semiocr.platform.serve", str(dep_id), "--threads", str(threads)],
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    with session() as s:
        row = s.get(Deployment, dep_id)
        row.pid, row.machine = proc.pid, socket.gethostname()
    url = f"http://{host}:{port or row.port}/health"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            _finish(dep_id, FAILED, f"the service exited with code {proc.returncode}; see {folder / 'service.log'}")
            raise RuntimeError(f"deployment {dep_id} failed to start; see {folder / 'service.log'}")
        try:
            with urllib.request.urlopen(url, timeout=1) as r:  # noqa: S310 - our own service on loopback
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.2)
    else:
        stop_process(proc.pid)
        _finish(dep_id, FAILED, f"no answer on {url} within {timeout_s} s")
        raise RuntimeError(f"deployment {dep_id} did not answer within {timeout_s} s")
    with session() as s:
        row = s.get(Deployment, dep_id)
        row.state = RUNNING
        return row


def _finish(dep_id: int, state: str, reason: str | None) -> None:
    with session() as s:
        row = s.get(Deployment, dep_id)
        row.state, row.reason, row.stopped_at = state, reason, utcnow()


def get(s: Session, user: User, dep_id: int) -> Deployment:
    row = s.get(Deployment, dep_id)
    if row is None or row.user_id != user.id:
        raise DeploymentNotFound(f"deployment {dep_id} not found")
    return row


def list_deployments(s: Session, user: User) -> list[Deployment]:
    return list(s.scalars(select(Deployment).where(Deployment.user_id == user.id).order_by(Deployment.id)))


def stop_process(pid: int, grace_s: float = 10.0) -> None:
    """SIGTERM the service's process group, SIGKILL after ``grace_s``."""
    from semiocr.platform.executors.local import kill_group, pid_alive

    kill_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    kill_group(pid, signal.SIGKILL)


def stop(s: Session, user: User, dep_id: int) -> Deployment:
    """Stop a deployment (its process ends; the exported models stay in its folder)."""
    row = get(s, user, dep_id)
    if row.state not in (STARTING, RUNNING):
        raise ValueError(f"deployment {dep_id} is {row.state}")
    if row.pid and row.machine == socket.gethostname():
        stop_process(row.pid)
    elif row.pid:
        raise ValueError(f"deployment {dep_id} runs on {row.machine}; stop it there")
    row.state, row.stopped_at = STOPPED, utcnow()
    return row


def authorizer(deployment_id: int):
    """``authorize(token)`` for the service of ``deployment_id``: a valid ``ocr`` token of the deployment's owner
    (checked against the database on every request, so a revoked token stops working at once)."""

    def authorize(token: str | None) -> None:
        with session() as s:
            try:
                user = authenticate(s, token, "ocr")
            except AuthError as e:
                raise PermissionError(str(e)) from None
            owner = s.get(Deployment, deployment_id).user_id
            if user.id != owner:
                raise PermissionError("this access token does not belong to the deployment's owner")

    return authorize


def url_of(row: Deployment) -> str:
    return f"http://{row.host}:{row.port}"
