import json

import pytest
from typer.testing import CliRunner

from semiocr.cli.main import app


def _app():
    return app


def test_cli_large_mode_with_overrides(digit_dataset, tmp_path):
    root, _ = digit_dataset
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"output_dir: {tmp_path}/run\ndata: {{root: {root}, use_space: false}}\ndevice: cpu\n"
                   "teacher:\n  model: {arch: ssl-test-large}\n  rounds: 1\n  pseudo: {threshold: 0.0}\n")
    opts = ["-o", "teacher.warmup.epochs=1", "-o", "teacher.round_optim.epochs=1", "-o", "teacher.warmup.batch_size=12"]
    res = CliRunner().invoke(_app(), ["train", "lmssl", "-c", str(cfg), "--mode", "large", "--quiet", *opts])
    assert res.exit_code == 0, res.output
    assert "| large |" in res.output
    state = json.loads((tmp_path / "run/state.json").read_text())
    assert state["mode"] == "large" and state["status"] == "succeeded"
    assert (tmp_path / "run/pseudo_labels.tsv").is_file() and not (tmp_path / "run/small").exists()


@pytest.mark.parametrize("arg", ["teacher.rounds", "nosuchkey=1"])
def test_cli_rejects_bad_override(digit_dataset, tmp_path, arg):
    root, _ = digit_dataset
    res = CliRunner().invoke(_app(), ["train", "lmssl", "--mode", "large", "-o", f"output_dir={tmp_path}",
                                      "-o", f"data.root={root}", "-o", arg])
    assert res.exit_code == 2 and "error:" in res.output
    assert not (tmp_path / "state.json").exists()
