"""The platform commands as a user types them: runs, weights (marks), evals and tokens."""

from __future__ import annotations

import json

from synthetic_lines import make_rec_dataset
from typer.testing import CliRunner

from semiocr.cli.main import app
from semiocr.core.job import run_job
from semiocr.core.training.config import RecTrainConfig
from semiocr.platform import runs as rs
from semiocr.platform.db import session

runner = CliRunner()


def _ok(args: list[str]) -> str:
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    return res.output


def test_runs_submit_list_show_cancel_queue_and_logs(platform_db, user_env, tmp_path):
    cfg = tmp_path / "job.yaml"
    cfg.write_text("arch: rec-tiny\ndata_dir: /data/digits\nepochs: 1\n", encoding="utf-8")
    res = runner.invoke(app, ["runs", "submit", "-c", str(cfg)])
    assert res.exit_code == 2 and "no kind" in res.output
    run_id = int(_ok(["runs", "submit", "-c", str(cfg), "--kind", "rec", "-o", "epochs=3", "--name", "first"]))
    shown = json.loads(_ok(["runs", "show", str(run_id), "--json"]))
    assert (shown["state"], shown["name"], shown["config"]["epochs"]) == ("queued", "first", 3)
    assert "first" in _ok(["runs", "list"]) and json.loads(_ok(["runs", "list", "--json"]))[0]["id"] == run_id
    res = runner.invoke(app, ["runs", "stop", str(run_id)])
    assert res.exit_code == 2 and "cancel a queued run instead" in res.output
    assert "draft" in _ok(["runs", "cancel", str(run_id)])
    assert "queued" in _ok(["runs", "queue", str(run_id)])
    with session() as s:
        run = s.get(rs.Run, run_id)
        run.state, run.attempt = "running", 1
        rs.log_path(run).parent.mkdir(parents=True, exist_ok=True)
        rs.log_path(run).write_text("epoch 1 step 3/3 loss 0.5\n")
    assert _ok(["runs", "logs", str(run_id)]) == "epoch 1 step 3/3 loss 0.5\n"
    assert "stop requested" in _ok(["runs", "stop", str(run_id)])
    res = runner.invoke(app, ["runs", "show", "999"])
    assert res.exit_code == 2 and "run 999 not found" in res.output


def test_weights_mark_list_unmark_and_use_by_nickname(platform_db, user_env, tmp_path):
    data = make_rec_dataset(tmp_path / "ds", n_train=8, n_val=4, seed=8)
    out = tmp_path / "run"
    run_job(RecTrainConfig(arch="rec-tiny", data_dir=str(data), use_space=False, epochs=1, batch_size=8, workers=0,
                           device="cpu", output_dir=str(out)))
    assert "as 'best digits'" in _ok(["weights", "mark", str(out), "--nickname", "best digits"])
    listed = json.loads(_ok(["weights", "list", "--json"]))
    assert [m["nickname"] for m in listed] == ["best digits"] and listed[0]["arch"] == "rec-tiny"
    image = str(data / "images" / "val_00000.png")
    by_nick = _ok(["predict", "rec", "-w", "best digits", image, "--device", "cpu"])
    assert by_nick == _ok(["predict", "rec", "-w", str(out), image, "--device", "cpu"])
    res = runner.invoke(app, ["weights", "mark", str(out), "--nickname", "best digits"])
    assert res.exit_code == 2 and "already used" in res.output
    _ok(["weights", "unmark", "best digits"])
    res = runner.invoke(app, ["predict", "rec", "-w", "best digits", image])
    assert res.exit_code == 2 and "weights not found" in res.output


def test_evals_create_and_tokens(platform_db, user_env, tmp_path):
    data = make_rec_dataset(tmp_path / "ds", n_train=4, n_val=4, seed=9)
    run_id = int(_ok(["evals", "create", "-w", "PP-OCRv4-mobile-rec", "-d", str(data)]))
    listed = _ok(["evals", "list"])
    assert f"{run_id}\tqueued\tPP-OCRv4-mobile-rec\t{data}" in listed
    assert json.loads(_ok(["evals", "show", str(run_id)]))["config"]["split"] is None
    res = runner.invoke(app, ["evals", "create", "-w", "x", "-d", "no-such-dataset"])
    assert res.exit_code == 2 and "neither a folder nor a stored dataset" in res.output
    res = runner.invoke(app, ["tokens", "create", "--name", "ci", "--scope", "ocr"])
    secret = res.stdout.strip().splitlines()[0]
    assert res.exit_code == 0 and secret.startswith("sot_")
    listed = _ok(["tokens", "list"])
    assert "ci\tocr" in listed and secret not in listed
    assert "revoked" in _ok(["tokens", "revoke", listed.split("\t")[0]])
    assert "revoked" in _ok(["tokens", "list"])
