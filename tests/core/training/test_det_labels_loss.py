"""DB label generation and DB loss."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from semiocr.core.training.det_labels import make_db_targets
from semiocr.core.training.det_loss import DBBatchTargets, DBLoss, balanced_bce
from semiocr.runtime.geometry import polygon_area_perimeter


def _rect(x: float, y: float, w: float, h: float) -> np.ndarray:
    return np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], np.float32)


def test_shrink_map_is_the_polygon_shrunk_by_db_distance() -> None:
    poly = _rect(20, 20, 100, 30)
    t = make_db_targets((100, 160), [poly], [False])
    area, perim = polygon_area_perimeter(poly)
    d = area * (1 - 0.4 ** 2) / perim  # 9.69 px
    ys, xs = np.nonzero(t.shrink_map)
    assert ys.min() == pytest.approx(20 + d, abs=1.01) and ys.max() == pytest.approx(50 - d, abs=1.01)
    assert xs.min() == pytest.approx(20 + d, abs=1.01) and xs.max() == pytest.approx(120 - d, abs=1.01)
    assert t.shrink_mask.min() == 1.0


def test_threshold_map_peaks_on_the_border_and_decays_to_thresh_min() -> None:
    t = make_db_targets((100, 160), [_rect(20, 20, 100, 30)], [False])
    assert t.thresh_map[20, 70] == pytest.approx(0.7, abs=1e-3)  # on the top edge
    assert t.thresh_map[35, 70] == pytest.approx(0.3, abs=1e-3)  # centre: farther than D from the edge
    assert 0.3 < t.thresh_map[15, 70] < 0.7  # outside, within D
    assert t.thresh_map[0, 0] == pytest.approx(0.3) and t.thresh_mask[0, 0] == 0
    assert t.thresh_mask[15, 70] == 1 and t.thresh_mask[35, 70] == 1


def test_ignored_small_and_degenerate_polygons_are_masked_out() -> None:
    polys = [_rect(10, 10, 60, 20), _rect(100, 10, 40, 4), np.array([[0, 80], [50, 80], [100, 80]], np.float32)]
    t = make_db_targets((100, 160), polys, [True, False, False])
    assert t.shrink_map.sum() == 0
    assert t.shrink_mask[20, 40] == 0 and t.shrink_mask[12, 120] == 0 and t.shrink_mask[90, 40] == 1


def test_balanced_bce_mines_hard_negatives() -> None:
    gt = torch.zeros(1, 10, 10)
    gt[0, 0, :2] = 1
    mask = torch.ones_like(gt)
    pred = torch.full_like(gt, 0.01)
    pred[0, 0, :2] = 0.99
    easy = balanced_bce(pred, gt, mask)
    pred[0, 9, :6] = 0.9  # 6 hard negatives: 3 × 2 positives are mined
    hard = balanced_bce(pred, gt, mask)
    assert hard > easy * 20
    expected = (-2 * np.log(0.99) - 6 * np.log(0.1)) / 8
    assert float(hard) == pytest.approx(expected, rel=1e-4)


def test_db_loss_decreases_when_fitting_targets() -> None:
    t = make_db_targets((32, 32), [_rect(4, 8, 24, 12)], [False])
    targets = DBBatchTargets(*(torch.from_numpy(m)[None] for m in (t.shrink_map, t.shrink_mask, t.thresh_map,
                                                                   t.thresh_mask)))
    logits = torch.zeros(1, 2, 32, 32, requires_grad=True)
    loss_fn = DBLoss()
    opt = torch.optim.Adam([logits], lr=0.1)
    first = None
    for _ in range(60):
        total, logs = loss_fn(torch.sigmoid(logits), targets)
        first = first if first is not None else total.item()
        opt.zero_grad()
        total.backward()
        opt.step()
    assert total.item() < first * 0.2 and set(logs) == {"loss_prob", "loss_thresh", "loss_binary"}


def test_db_loss_rejects_bad_shapes() -> None:
    t = DBBatchTargets(*(torch.zeros(1, 8, 8) for _ in range(4)))
    with pytest.raises(ValueError, match="2|3"):
        DBLoss()(torch.zeros(1, 1, 8, 8), t)
    with pytest.raises(ValueError, match="target size"):
        DBLoss()(torch.zeros(1, 3, 16, 16), t)
