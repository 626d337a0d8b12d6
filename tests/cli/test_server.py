"""``semiocr server`` as a user starts it: the API and a scheduler in one process on the SQLite default; a run
submitted over HTTP executes and its result comes back over HTTP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest
from synthetic_lines import make_rec_dataset
from typer.testing import CliRunner

from semiocr.cli.main import app
from semiocr.platform.db import session
from semiocr.platform.users import create_token, get_or_create_user


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_server_runs_the_api_and_a_scheduler(platform_db, tmp_path):
    data = make_rec_dataset(tmp_path / "ds", n_train=16, n_val=4, seed=3)
    with session() as s:
        token = create_token(s, get_or_create_user(s, "gina"), "t", ("manage",)).secret
    port = _port()
    server = subprocess.Popen([sys.executable, "-m", "semiocr.cli.main", "server", "--port", str(port), "--poll",
                               "0.2"], env={**os.environ}, stderr=subprocess.PIPE, text=True, start_new_session=True)
    url, auth = f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {token}"}
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                assert server.poll() is None, server.stderr.read()
                time.sleep(0.2)
        config = {"kind": "rec", "arch": "rec-tiny", "data_dir": str(data), "use_space": False, "epochs": 1,
                  "batch_size": 8, "workers": 0, "device": "cpu"}
        run = httpx.post(f"{url}/v1/runs", json={"config": config, "name": "over http"}, headers=auth).json()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            run = httpx.get(f"{url}/v1/runs/{run['id']}", headers=auth).json()
            if run["state"] in ("succeeded", "failed", "stopped"):
                break
            time.sleep(0.5)
        assert run["state"] == "succeeded", run
        assert "acc" in run["result"]["metrics"]
        ckpts = httpx.get(f"{url}/v1/runs/{run['id']}/checkpoints", headers=auth).json()
        assert {c["type"] for c in ckpts} >= {"best", "final"}
        log = httpx.get(f"{url}/v1/runs/{run['id']}/logs", params={"follow": False}, headers=auth).text
        assert "succeeded: epoch 1" in log
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


@pytest.mark.parametrize(("args", "message"), [
    (["--allocator", "mimalloc"], "'mimalloc' is not one of tcmalloc, system"),
    (["--executor", "slurm"], "unknown executor 'slurm'")])
def test_a_bad_worker_option_is_refused_by_name(platform_db, args, message):
    res = CliRunner().invoke(app, ["worker", *args])
    assert res.exit_code == 2
    assert message in " ".join(res.output.split())  # rich folds long lines
