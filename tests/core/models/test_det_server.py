"""PP-OCRv4 server detector: HGNet det strides, LKPAN, DB head outputs, DBLoss compatibility, training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from data_helpers import make_det_dataset

from semiocr.core.events import Progress
from semiocr.core.models.det_lkpan import LKPAN
from semiocr.core.models.hgnet import pphgnet_small_det
from semiocr.core.models.registry import build_model, list_models
from semiocr.core.training.det_labels import make_db_targets
from semiocr.core.training.det_loss import DBBatchTargets, DBLoss
from semiocr.core.training.det_task import DetTrainConfig, build_det_task
from semiocr.core.training.loop import fit


def test_both_presets_are_registered() -> None:
    assert {"PP-OCRv4-server-det", "PP-OCRv4-server-det-tiny"} <= set(list_models())


def test_full_hgnet_det_backbone_strides_and_channels(single_thread: None) -> None:
    net = pphgnet_small_det().eval()
    assert net.out_channels == [256, 512, 768, 1024]
    with torch.no_grad():
        feats = net(torch.zeros(1, 3, 64, 96))
    assert [tuple(f.shape) for f in feats] == [(1, 256, 16, 24), (1, 512, 8, 12), (1, 768, 4, 6), (1, 1024, 2, 3)]


def test_full_server_det_size_and_eval_output(single_thread: None) -> None:
    model = build_model("PP-OCRv4-server-det").eval()
    n = sum(p.numel() for p in model.parameters())
    assert 20e6 < n < 35e6, n  # PaddleOCR's server det inference model is ~ 28M parameters
    assert model.head.k == 50 and model.neck.out_channels == 256
    with torch.no_grad():
        assert model(torch.rand(1, 3, 64, 64)).shape == (1, 1, 64, 64)


@pytest.mark.parametrize("hw", [(32, 32), (64, 160), (128, 96)])
def test_tiny_server_det_shapes_eval_and_train(hw: tuple[int, int]) -> None:
    model = build_model("PP-OCRv4-server-det-tiny")
    x = torch.rand(2, 3, *hw)
    with torch.no_grad():
        prob = model.eval()(x)
    assert prob.shape == (2, 1, *hw) and float(prob.min()) >= 0 and float(prob.max()) <= 1
    assert model.train()(x).shape == (2, 3, *hw)


def test_rejects_sides_not_multiple_of_32() -> None:
    with pytest.raises(ValueError, match="multiples of 32"):
        build_model("PP-OCRv4-server-det-tiny")(torch.zeros(1, 3, 48, 64))


def test_lkpan_fuses_four_levels_at_stride_4_and_validates() -> None:
    neck = LKPAN([4, 6, 8, 10], 16)
    feats = [torch.randn(1, c, 32 // 2 ** i, 48 // 2 ** i) for i, c in enumerate((4, 6, 8, 10))]
    assert neck(feats).shape == (1, 16, 32, 48)
    with pytest.raises(ValueError, match="4 input levels"):
        LKPAN([4, 6, 8], 16)
    with pytest.raises(ValueError, match="multiple of 4"):
        LKPAN([4, 6, 8, 10], 18)


def test_train_outputs_feed_db_loss_and_gradients_reach_the_backbone(single_thread: None) -> None:
    t = make_db_targets((64, 64), [np.array([[8, 20], [56, 20], [56, 36], [8, 36]], np.float32)], [False])
    targets = DBBatchTargets(*(torch.from_numpy(m)[None] for m in (t.shrink_map, t.shrink_mask, t.thresh_map,
                                                                   t.thresh_mask)))
    model = build_model("PP-OCRv4-server-det-tiny").train()
    total, logs = DBLoss()(model(torch.rand(1, 3, 64, 64)), targets)
    assert torch.isfinite(total) and set(logs) == {"loss_prob", "loss_thresh", "loss_binary"}
    total.backward()
    assert model.backbone.stem[0].conv.weight.grad.abs().sum() > 0
    assert model.head.thresh.conv.weight.grad.abs().sum() > 0


def test_tiny_server_det_training_reduces_the_db_loss(tmp_path: Path, single_thread: None) -> None:
    root, out = tmp_path / "data", tmp_path / "run"
    make_det_dataset(root, n_train=4, n_val=1)
    cfg = DetTrainConfig(arch="PP-OCRv4-server-det-tiny", pretrained=None, data_dir=str(root), output_dir=str(out),
                         epochs=10, batch_size=4, input_size=128, workers=0, device="cpu", learning_rate=2e-2,
                         log_interval=1, limit_side_len=160, scale_min=0.8, scale_max=1.2, rotate_deg=0.0,
                         eval_interval=10)
    losses: list[float] = []
    res = fit(build_det_task(cfg, log=lambda m: None), cfg,
              sink=lambda e: losses.append(e.loss) if isinstance(e, Progress) else None)
    assert res.reason == "finished" and len(losses) == 10
    assert np.mean(losses[-3:]) < 0.75 * np.mean(losses[:2]), losses
