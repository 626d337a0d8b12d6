"""Marked weights used across runs (start weights, small-only teacher, evaluation) and evaluation tasks."""

from __future__ import annotations

from pathlib import Path

import pytest
from platform_helpers import drive, rec_config, row, submit
from synthetic_lines import make_rec_dataset

from semiocr.core.weights.checkpoint import read_checkpoint
from semiocr.core.weights.resolve import resolve_weights, unregister_resolver
from semiocr.platform import marks
from semiocr.platform.db import session
from semiocr.platform.executors.local import LocalExecutor
from semiocr.platform.scheduler import Scheduler
from semiocr.platform.tables import Checkpoint
from semiocr.platform.users import local_user


@pytest.fixture
def resolver():
    marks.register_marks_resolver()
    yield
    unregister_resolver("marked weights")


def _final(run_id: int) -> Checkpoint:
    with session() as s:
        return s.query(Checkpoint).filter_by(run_id=run_id, type="final").one()


@pytest.mark.slow
def test_marks_start_runs_teach_a_small_model_and_are_evaluated(platform_db, user_env, tmp_path, resolver):
    data = make_rec_dataset(tmp_path / "ds", n_train=48, n_val=8, n_unlabeled=24, seed=5)
    sched = Scheduler(LocalExecutor(), poll_s=0.05)
    first = drive(sched, submit(rec_config(data)))
    assert first.state == "succeeded"
    ckpt = _final(first.id)
    with session() as s:
        m = marks.mark(s, local_user(s), f"#{ckpt.id}", "digits A")
        stored = Path(m.stored_path)
    assert stored.is_file() and stored.parent.name == "marked" and m.arch == "rec-tiny"
    assert resolve_weights("digits A").path == stored  # any weights argument now takes the nickname

    second = drive(sched, submit(rec_config(data, pretrained="digits A")))
    assert second.state == "succeeded"
    meta = read_checkpoint(_final(second.id).path)["meta"]
    assert meta.parent == str(stored)  # lineage: the immutable copy the nickname named

    small = {"kind": "lmssl", "mode": "small", "device": "cpu", "data": {"root": str(data), "use_space": False},
             "student": {"model": {"arch": "rec-tiny"}, "teacher_weights": "digits A", "warmup_supervised": False,
                         "optim": {"epochs": 1, "batch_size": 8, "warmup_steps": 0}}}
    taught = drive(sched, submit(small))
    assert taught.state == "succeeded", taught.exit_reason
    pseudo = read_checkpoint(Path(taught.output_dir) / "small_best.pt")["meta"]
    assert pseudo.task == "ssl-student" and (Path(taught.output_dir) / "pseudo_labels.tsv").is_file()

    ev = drive(sched, submit({"kind": "eval", "weights": "digits A", "data_dir": str(data), "device": "cpu"}))
    assert ev.state == "succeeded" and ev.result["metrics"]["n"] == 8
    assert ev.result["metrics"]["acc"] == pytest.approx(ckpt.metrics["acc"])  # the same weights, the same val
    assert (Path(ev.output_dir) / "predictions.csv").read_text().count("\n") == 9

    with session() as s:
        marks.unmark(s, local_user(s), "digits A")
    assert not stored.exists()  # no other mark used that copy
    with pytest.raises(ValueError, match="weights not found"):
        resolve_weights("digits A")


def test_mark_rules(platform_db, user_env, tmp_path, monkeypatch):
    data = make_rec_dataset(tmp_path / "ds", n_train=8, n_val=4, seed=6)
    from semiocr.core.job import run_job
    from semiocr.core.training.config import RecTrainConfig

    out = tmp_path / "run"
    run_job(RecTrainConfig(**{k: v for k, v in rec_config(data, epochs=1).items() if k != "kind"},
                           output_dir=str(out)))
    with session() as s:
        user = local_user(s)
        marks.mark(s, user, str(out), "mine")
        with pytest.raises(marks.MarkError, match="already used"):
            marks.mark(s, user, str(out), "mine")
        with pytest.raises(marks.MarkError, match="shadow a preset"):
            marks.mark(s, user, str(out), "PP-OCRv4-mobile-rec")
        with pytest.raises(marks.MarkError, match="a preset needs no mark"):
            marks.mark(s, user, "PP-OCRv4-mobile-rec", "v4")
        with pytest.raises(marks.MarkError, match="checkpoint #99 not found|checkpoint 99 not found"):
            marks.mark(s, user, "#99", "ghost")
        assert [m.nickname for m in marks.list_marks(s, user)] == ["mine"]
    monkeypatch.setenv("SEMIOCR_USER", "bob")  # nicknames are per user
    with session() as s:
        assert marks.find(s, local_user(s), "mine") is None
        marks.mark(s, local_user(s), str(out), "mine")


@pytest.mark.slow
def test_an_evaluation_task_on_a_malformed_folder_fails_with_a_clear_log(platform_db, user_env, tmp_path):
    data = make_rec_dataset(tmp_path / "ds", n_train=8, n_val=4, seed=7)
    bad = data / "val.txt"
    lines = bad.read_text().splitlines()
    bad.write_text("\n".join([lines[0], "images/missing_tab_here.png", *lines[1:]]) + "\n")
    run_id = submit({"kind": "eval", "weights": "PP-OCRv4-mobile-rec", "data_dir": str(data), "device": "cpu"})
    run = drive(Scheduler(LocalExecutor(), poll_s=0.05), run_id)
    assert run.state == "failed" and "bad input" in run.exit_reason and "val.txt:2" in run.exit_reason
    assert "val.txt:2" in (row(run_id) and Path(run.output_dir).parent.joinpath("attempt-1.log").read_text())
