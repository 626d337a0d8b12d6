"""Detection training through the generic loop: fit, checkpoints, resume, reload, evaluation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from data_helpers import make_det_dataset

from semiocr.core.events import Event, Metrics, Progress, ignore
from semiocr.core.training.det_task import DetTrainConfig, build_det_task
from semiocr.core.training.loop import fit
from semiocr.core.weights.load import load_detector_model


def _cfg(root: Path, out: Path, **kw) -> DetTrainConfig:
    base = dict(arch="PP-OCRv4-mobile-det-tiny", pretrained=None, data_dir=str(root), output_dir=str(out),
                epochs=2, batch_size=2, input_size=128, workers=0, device="cpu", learning_rate=2e-3, log_interval=1,
                limit_side_len=160, scale_min=0.8, scale_max=1.2)
    return DetTrainConfig(**{**base, **kw})


def test_fit_saves_detector_checkpoints_that_reload_and_resume(tmp_path: Path, single_thread: None) -> None:
    root, out = tmp_path / "data", tmp_path / "run"
    make_det_dataset(root)
    events: list[Event] = []
    res = fit(build_det_task(_cfg(root, out), log=lambda m: None), _cfg(root, out),
              sink=events.append)
    assert res.reason == "finished" and res.epoch == 2
    metrics = [e.values for e in events if isinstance(e, Metrics)]
    assert len(metrics) == 2 and {"hmean", "precision", "recall"} <= set(metrics[0])
    progress = [e.values for e in events if isinstance(e, Progress)]
    assert {"loss_prob", "loss_thresh", "loss_binary"} <= set(progress[0])
    assert (out / "checkpoints" / "best.pt").is_file() and (out / "checkpoints" / "latest.pt").is_file()
    model, w = load_detector_model(out)
    assert w.meta.task == "detection" and w.meta.input["limit_side_len"] == 160
    assert w.meta.arch == "PP-OCRv4-mobile-det-tiny" and w.ref.path == out / "checkpoints" / "best.pt"
    assert model(torch.zeros(1, 3, 64, 64)).shape == (1, 1, 64, 64)
    cfg3 = _cfg(root, out, epochs=3, resume=str(out / "checkpoints" / "latest.pt"))
    res3 = fit(build_det_task(cfg3, log=lambda m: None), cfg3, sink=ignore)
    assert res3.epoch == 3 and res3.step == 6


def test_training_reduces_the_db_loss(tmp_path: Path, single_thread: None) -> None:
    """A tiny random-init detector trained a few epochs on generated pages: the DB loss falls steadily."""
    root, out = tmp_path / "data", tmp_path / "run"
    make_det_dataset(root, n_train=4, n_val=1)
    cfg = _cfg(root, out, epochs=10, learning_rate=5e-3, rotate_deg=0.0, batch_size=4, eval_interval=10)
    losses: list[float] = []
    fit(build_det_task(cfg, log=lambda m: None), cfg,
        sink=lambda e: losses.append(e.loss) if isinstance(e, Progress) else None)
    assert len(losses) == 10
    assert np.mean(losses[-3:]) < 0.75 * np.mean(losses[:2])


def test_config_rejects_bad_values(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        DetTrainConfig(input_size=100)
    with pytest.raises(ValueError):
        DetTrainConfig(limit_type="middle")
