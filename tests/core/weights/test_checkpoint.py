"""The checkpoint format: files crafted to run code while unpickling are refused before any code runs; weights-only
and resume checkpoints round-trip their typed metadata; files that are not ours or do not fit are clear errors."""

from __future__ import annotations

import contextlib
import os
import pickle
import shlex
from pathlib import Path

import pytest
import torch

from semiocr.core.weights.checkpoint import (
    FORMAT,
    CheckpointError,
    CheckpointMeta,
    check_compatible,
    read_checkpoint,
    rec_input_spec,
    save_checkpoint,
)
from semiocr.runtime.charset import Charset


class _RunsShell:
    """Unpickling calls ``os.system`` (here: create the marker file)."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {shlex.quote(str(self.marker))}",)


class _TouchesFile:
    """Unpickling calls ``Path.touch`` on the marker."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return Path.touch, (self.marker,)


def _write(kind: str, payload: object, path: Path) -> None:
    if kind == "torch.save":  # a zip checkpoint that looks like ours, the payload among its entries
        torch.save({"format": FORMAT, "meta": {"arch": "rec-tiny"}, "model": {}, "train": payload}, path)
    else:  # a legacy plain pickle (protocol 2, as torch writes them)
        with open(path, "wb") as f:
            pickle.dump({"model": payload}, f, protocol=2)


@pytest.mark.parametrize("kind", ["torch.save", "pickle"])
@pytest.mark.parametrize("payload,names", [(_RunsShell, ("posix.system", "os.system", "nt.system")),
                                           (_TouchesFile, ("getattr", "touch", "pathlib"))])
def test_a_crafted_pickle_is_refused_and_its_code_never_runs(tmp_path, kind, payload, names):
    marker = tmp_path / "marker"
    evil = tmp_path / "evil.pt"
    _write(kind, payload(marker), evil)
    with pytest.raises(CheckpointError) as err:
        read_checkpoint(evil)
    assert not marker.exists(), "unpickling ran the payload"
    msg = str(err.value)
    assert str(evil) in msg and "not a readable semiocr checkpoint" in msg
    assert any(n in msg for n in names), msg  # names what was blocked ...
    assert "weights_only` set to `False`" not in msg  # ... rather than torch's advice to load it unsafely
    # the control: the same file does run its payload when unpickled without the guard (a plain pickle then
    # fails torch's format check, but only after unpickling it)
    with contextlib.suppress(RuntimeError):
        torch.load(evil, weights_only=False)
    assert marker.exists()


def _meta(cs: Charset) -> CheckpointMeta:
    return CheckpointMeta(arch="rec-tiny", task="supervised", model_kwargs={"channels": [8, 16, 32]},
                          charset=cs.to_dict(), input=rec_input_spec(), dataset_hash="sha256:abc",
                          parent="runs/base/checkpoints/best.pt", config={"epochs": 3, "optim": {"lr": 1e-3}},
                          metrics={"acc": 0.5, "norm_edit": 0.75}, kind="best", epoch=3, step=12,
                          extra={"pseudo_count": 7, "sources": ["a", "b"]}).stamped()


def test_weights_only_checkpoint_round_trips_its_metadata(tmp_path):
    cs = Charset(tuple("0123456789"), use_space=False)
    meta = _meta(cs)
    state = {"head.fc.weight": torch.randn(11, 4), "head.fc.bias": torch.zeros(11),
             "bn.num_batches_tracked": torch.tensor(5)}
    path = save_checkpoint(tmp_path / "sub" / "w.pt", meta, state)
    blob = read_checkpoint(path)
    assert set(blob) == {"format", "meta", "model"}  # weights only: no resume state
    got = blob["meta"]
    assert isinstance(got, CheckpointMeta) and got.path == str(path)
    assert got.to_dict() == meta.to_dict()
    assert got.charset_obj() == cs and not got.is_detector
    assert got.versions["torch"] == str(torch.__version__) and got.created.endswith("Z")
    assert all(torch.equal(blob["model"][k], v) for k, v in state.items())
    assert [p.name for p in path.parent.iterdir()] == ["w.pt"]  # written atomically: no temporary left


def test_resume_state_round_trips_and_detectors_have_no_charset(tmp_path):
    meta = CheckpointMeta(arch="PP-OCRv4-mobile-det-tiny", task="detection", input={"limit_side_len": 160})
    train = {"epoch": 2, "epoch_step": 0, "optimizer": {"state": {0: {"exp_avg": torch.ones(3)}}}, "rng": [1, 2]}
    blob = read_checkpoint(save_checkpoint(tmp_path / "d.pt", meta, {"w": torch.ones(2)}, train=train))
    assert blob["meta"].is_detector and blob["meta"].charset_obj() is None
    assert blob["train"]["epoch"] == 2 and torch.equal(blob["train"]["optimizer"]["state"][0]["exp_avg"],
                                                       torch.ones(3))


def test_files_that_are_not_semiocr_checkpoints(tmp_path):
    with pytest.raises(CheckpointError, match="checkpoint not found"):
        read_checkpoint(tmp_path / "missing.pt")
    torch.save({"state_dict": {"w": torch.ones(1)}}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match=f"not a semiocr checkpoint \\(expected format '{FORMAT}'\\)"):
        read_checkpoint(tmp_path / "other.pt")
    torch.save({"format": FORMAT, "meta": {"arch": "x", "surprise": 1}, "model": {}}, tmp_path / "new.pt")
    with pytest.raises(CheckpointError, match=r"unknown fields \['surprise'\]"):
        read_checkpoint(tmp_path / "new.pt")
    (tmp_path / "text.pt").write_text("hello")
    with pytest.raises(CheckpointError, match="text.pt: not a readable semiocr checkpoint"):
        read_checkpoint(tmp_path / "text.pt")


def test_check_compatible_names_the_difference():
    cs = Charset(tuple("0123456789"), use_space=False)
    meta = CheckpointMeta(arch="rec-tiny", charset=cs.to_dict(), path="w.pt")
    check_compatible(meta, "rec-tiny", cs)
    check_compatible(meta, None, None)
    with pytest.raises(CheckpointError, match="architecture 'rec-tiny' differs from the run's 'PP-OCRv4-mobile-rec'"):
        check_compatible(meta, "PP-OCRv4-mobile-rec", cs)
    with pytest.raises(CheckpointError, match=r"charset \(11 classes.*differs from the run's \(12 classes"):
        check_compatible(meta, "rec-tiny", Charset(tuple("0123456789a"), use_space=False))
