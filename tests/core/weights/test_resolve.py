"""The weights resolver: a checkpoint file, a run directory (one documented rule), a preset name, then registered
extensions; unknown names are an error that lists what is accepted."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from semiocr.core.models.pretrained import list_pretrained
from semiocr.core.weights import resolve
from semiocr.core.weights.checkpoint import CheckpointError, CheckpointMeta, save_checkpoint
from semiocr.core.weights.load import load_weights
from semiocr.core.weights.resolve import (
    RUN_DIR_CANDIDATES,
    WeightsRef,
    is_preset,
    register_resolver,
    resolve_weights,
    resume_checkpoint,
    unregister_resolver,
)

PRESET = "PP-OCRv4-mobile-rec"


def _ckpt(path: Path, arch: str = "rec-tiny") -> Path:
    return save_checkpoint(path, CheckpointMeta(arch=arch, task="detection"), {"w": torch.zeros(1)})


@pytest.fixture
def marks(tmp_path: Path) -> Iterator[dict[str, Path]]:
    """A ``mark:<name>`` extension (what the platform's marked nicknames will be), removed after the test."""
    table = {"mark:best-large": _ckpt(tmp_path / "store" / "large.pt")}
    register_resolver("marks", lambda name: table.get(name))
    try:
        yield table
    finally:
        unregister_resolver("marks")


def test_a_file(tmp_path):
    f = _ckpt(tmp_path / "w.pt")
    ref = resolve_weights(f)
    assert ref == WeightsRef(str(f), path=f) and ref.describe() == str(f)
    assert resolve_weights(f" {f} ").path == f  # surrounding blanks of a typed name are ignored


def test_home_relative_file(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    f = _ckpt(tmp_path / "w.pt")
    assert resolve_weights("~/w.pt").path == f


def test_run_directory_rule_in_order(tmp_path):
    run = tmp_path / "run"
    for rel in RUN_DIR_CANDIDATES:
        _ckpt(run / rel)
    assert RUN_DIR_CANDIDATES == ("checkpoints/best.pt", "small_best.pt", "large_best.pt", "best.pt",
                                  "checkpoints/latest.pt")
    for rel in RUN_DIR_CANDIDATES:  # each candidate is taken while present, then the next one
        ref = resolve_weights(run)
        assert ref.path == run / rel and ref.describe() == f"{run} ({run / rel})"
        (run / rel).unlink()
    with pytest.raises(CheckpointError, match="run directory holds no weights .*checkpoints/best.pt, small_best.pt"):
        resolve_weights(run)


def test_training_run_prefers_best_over_latest(tmp_path):
    run = tmp_path / "run"
    _ckpt(run / "checkpoints" / "latest.pt")
    assert resolve_weights(run).path == run / "checkpoints" / "latest.pt"  # stopped before its first evaluation
    _ckpt(run / "checkpoints" / "best.pt")
    assert resolve_weights(run).path == run / "checkpoints" / "best.pt"
    # resuming is not loading weights: it continues from latest
    assert resume_checkpoint(run) == run / "checkpoints" / "latest.pt"


def test_lmssl_run_directory_is_its_final_small_model(tmp_path):
    run = tmp_path / "lmssl"
    _ckpt(run / "large_best.pt")
    _ckpt(run / "large" / "warmup" / "checkpoints" / "best.pt")  # a stage's run dir inside: not the run's weights
    assert resolve_weights(run).path == run / "large_best.pt"  # a large-only run: its large model
    _ckpt(run / "small_best.pt")
    assert resolve_weights(run).path == run / "small_best.pt"
    assert resolve_weights(run / "large" / "warmup").path == run / "large" / "warmup" / "checkpoints" / "best.pt"


def test_preset_name(tmp_path, monkeypatch):
    ref = resolve_weights(PRESET)
    assert ref == WeightsRef(PRESET, preset=PRESET) and ref.describe() == f"preset {PRESET}"
    assert is_preset(PRESET) and not is_preset("PP-OCRv4-mobile")
    w = load_weights(PRESET)
    assert w.meta.kind == "preset" and w.meta.arch == PRESET and w.charset.num_classes == 6625
    # a file or directory of that name in the working directory comes first
    monkeypatch.chdir(tmp_path)
    _ckpt(tmp_path / PRESET / "checkpoints" / "best.pt")
    assert not is_preset(PRESET)
    assert resolve_weights(PRESET).path == Path(PRESET) / "checkpoints" / "best.pt"


def test_registered_extension(tmp_path, marks):
    ref = resolve_weights("mark:best-large")
    assert ref.path == marks["mark:best-large"] and ref.preset is None
    assert ref.describe() == f"mark:best-large ({marks['mark:best-large']})"
    assert load_weights("mark:best-large").meta.arch == "rec-tiny"
    with pytest.raises(CheckpointError, match=r"mark:nope: weights not found: .*\), marks$"):
        resolve_weights("mark:nope")  # the extension does not know it: the error names the extensions asked
    assert resolve_weights(PRESET).preset == PRESET  # presets come before extensions


def test_extensions_do_not_leak_between_tests():
    assert "marks" not in resolve._EXTENSIONS
    with pytest.raises(CheckpointError, match="weights not found"):
        resolve_weights("mark:best-large")


def test_unregister_resolver_is_idempotent(tmp_path):
    register_resolver("tmp", lambda name: tmp_path / "x.pt" if name == "x" else None)
    assert resolve_weights("x").path == tmp_path / "x.pt"
    unregister_resolver("tmp")
    unregister_resolver("tmp")
    with pytest.raises(CheckpointError):
        resolve_weights("x")


@pytest.mark.parametrize("spec", ["no/such/weights.pt", "PP-OCRv5-mobile-rec"])
def test_unknown_name_lists_what_is_accepted(spec):
    with pytest.raises(CheckpointError) as err:
        resolve_weights(spec)
    assert str(err.value) == (f"{spec}: weights not found: not a checkpoint file, run directory or preset "
                              f"({', '.join(list_pretrained())})")
    assert "PP-OCRv4-mobile-rec" in list_pretrained() and "PP-OCRv6-small-rec" in list_pretrained()


def test_empty_name_is_an_error():
    with pytest.raises(CheckpointError, match="empty weights name"):
        resolve_weights("  ")
