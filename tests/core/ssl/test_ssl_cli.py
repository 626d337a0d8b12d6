"""``semiocr train lmssl`` in its three modes, with start weights and teacher weights given as any weights name
(checkpoint file, run directory, preset)."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from semiocr.cli.main import app
from semiocr.core.models.registry import build_model
from semiocr.core.weights.checkpoint import CheckpointMeta, read_checkpoint, save_checkpoint
from semiocr.runtime.charset import Charset

SHORT = ["-o", "teacher.warmup.epochs=1", "-o", "teacher.round_optim.epochs=1", "-o", "teacher.warmup.batch_size=12",
         "-o", "student.optim.epochs=1", "-o", "student.optim.batch_size=16"]


def _config(tmp_path: Path, root: Path) -> Path:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"data: {{root: {root}, use_space: false}}\ndevice: cpu\n"
                   "teacher:\n  model: {arch: ssl-test-large}\n  rounds: 1\n  pseudo: {threshold: 0.0}\n"
                   "student:\n  model: {arch: ssl-test-small}\n")
    return cfg


def _lmssl(cfg: Path, mode: str, out: Path, *overrides: str):
    opts = [x for o in overrides for x in ("-o", o)]
    return CliRunner().invoke(app, ["train", "lmssl", "-c", str(cfg), "--mode", mode, "--quiet", "-o",
                                    f"output_dir={out}", *SHORT, *opts])


def _logs(run: Path) -> list[str]:
    events = [json.loads(x) for x in (run / "events.jsonl").read_text().splitlines()]
    return [e["message"] for e in events if e["kind"] == "log"]


def _state(run: Path) -> dict:
    return json.loads((run / "state.json").read_text())


def test_cli_large_mode_with_overrides_from_a_start_checkpoint(digit_dataset, tmp_path):
    root, _ = digit_dataset
    start = tmp_path / "start.pt"
    cs = Charset.from_file(root / "dict.txt", use_space=False)
    save_checkpoint(start, CheckpointMeta(arch="ssl-test-large", charset=cs.to_dict()),
                    build_model("ssl-test-large", num_classes=cs.num_classes).state_dict())
    run = tmp_path / "run"
    res = _lmssl(_config(tmp_path, root), "large", run, f"teacher.model.pretrained={start}")
    assert res.exit_code == 0, res.output
    assert "| large |" in res.output and "| small |" not in res.output
    state = _state(run)
    assert state["mode"] == "large" and state["status"] == "succeeded"
    assert (run / "pseudo_labels.tsv").is_file() and not (run / "small").exists()
    assert f"start weights loaded from {start}" in _logs(run)


def test_cli_small_and_joint_modes_take_run_directories_files_and_presets(digit_dataset, tmp_path):
    root, _ = digit_dataset
    cfg = _config(tmp_path, root)
    large, small, joint = tmp_path / "large", tmp_path / "small", tmp_path / "joint"
    assert _lmssl(cfg, "large", large).exit_code == 0

    # small: the teacher is a run directory → its large_best.pt (the same pseudo-labels as that run's own)
    res = _lmssl(cfg, "small", small, f"student.teacher_weights={large}")
    assert res.exit_code == 0, res.output
    assert "| small |" in res.output and "| large |" not in res.output
    assert (small / "pseudo/final.tsv").read_text() == (large / "pseudo/final.tsv").read_text()
    assert _state(small)["mode"] == "small" and _state(small)["status"] == "succeeded"
    assert (small / "small_best.pt").is_file() and not (small / "large").exists()

    # joint: start weights as a run directory (large) and a checkpoint file (small)
    res = _lmssl(cfg, "joint", joint, f"teacher.model.pretrained={large}",
                 f"student.model.pretrained={small / 'small_best.pt'}")
    assert res.exit_code == 0, res.output
    assert "| large |" in res.output and "| small |" in res.output
    logs = _logs(joint)
    assert f"start weights loaded from {large} ({large / 'large_best.pt'})" in logs
    assert f"start weights loaded from {small / 'small_best.pt'}" in logs
    assert read_checkpoint(joint / "small_best.pt")["meta"].arch == "ssl-test-small"
    assert read_checkpoint(joint / "large_best.pt")["meta"].arch == "ssl-test-large"
    assert _state(joint)["status"] == "succeeded"

    # a preset is resolved too; its large dict is cut down to the dataset's characters for teaching (a trained
    # checkpoint with another dict is refused: tests/core/ssl/test_ssl_recipe.py)
    res = _lmssl(cfg, "small", tmp_path / "preset", "student.teacher_weights=PP-OCRv4-mobile-rec")
    assert res.exit_code == 0, res.output
    assert (tmp_path / "preset" / "small_best.pt").is_file() and _state(tmp_path / "preset")["status"] == "succeeded"


@pytest.mark.parametrize("arg", ["teacher.rounds", "nosuchkey=1"])
def test_cli_rejects_bad_override(digit_dataset, tmp_path, arg):
    root, _ = digit_dataset
    res = CliRunner().invoke(app, ["train", "lmssl", "--mode", "large", "-o", f"output_dir={tmp_path}",
                                   "-o", f"data.root={root}", "-o", arg])
    assert res.exit_code == 2 and "error:" in res.output
    assert not (tmp_path / "state.json").exists()
