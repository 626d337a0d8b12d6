"""ICDAR 2015 detection protocol: matching, don't-care handling, aggregation, pictures."""

from __future__ import annotations

import numpy as np
import pytest

from semiocr.core.eval.detection import aggregate, draw_errors, evaluate_image


def _rect(x: float, y: float, w: float, h: float) -> list[list[float]]:
    return [[x, y], [x + w, y], [x + w, y + h], [x, y + h]]


def test_perfect_and_shifted_matches() -> None:
    gt = [_rect(0, 0, 100, 20), _rect(0, 50, 100, 20)]
    det = [_rect(5, 50, 100, 20), _rect(0, 0, 100, 20)]  # IoU 0.9 and 1.0
    res = evaluate_image(gt, [False, False], det)
    assert sorted((g, d) for g, d, _ in res.matches) == [(0, 1), (1, 0)]
    assert res.metrics() == {"precision": 1.0, "recall": 1.0, "hmean": 1.0}


def test_iou_at_or_below_half_is_a_miss_and_a_false_alarm() -> None:
    gt = [_rect(0, 0, 100, 20)]
    det = [_rect(0, 0, 50, 20)]  # IoU exactly 0.5: not > 0.5
    res = evaluate_image(gt, [False], det)
    assert res.matches == [] and res.missed == [0] and res.false_alarms == [0]
    assert res.metrics()["hmean"] == 0.0


def test_one_to_one_matching() -> None:
    gt = [_rect(0, 0, 100, 20)]
    det = [_rect(0, 0, 100, 20), _rect(2, 0, 100, 20)]
    res = evaluate_image(gt, [False], det)
    assert res.n_match == 1 and res.matches[0][1] == 0 and res.false_alarms == [1]
    assert res.metrics()["precision"] == pytest.approx(0.5)


def test_dontcare_regions_discard_detections_and_do_not_count_as_misses() -> None:
    gt = [_rect(0, 0, 100, 20), _rect(0, 100, 100, 20)]
    det = [_rect(0, 0, 100, 20), _rect(10, 100, 50, 20), _rect(300, 300, 10, 10)]
    res = evaluate_image(gt, [False, True], det)
    assert res.n_gt == 1 and res.n_det == 2 and res.det_dontcare == [1]
    assert res.false_alarms == [2]
    assert res.metrics()["precision"] == pytest.approx(0.5) and res.metrics()["recall"] == 1.0


def test_self_intersecting_polygon_is_repaired() -> None:
    bowtie = [[0, 0], [100, 20], [100, 0], [0, 20]]
    res = evaluate_image([_rect(0, 0, 100, 20)], [False], [bowtie])
    assert res.n_det == 1 and res.n_match == 0


def test_aggregate_sums_counts() -> None:
    a = evaluate_image([_rect(0, 0, 10, 10)], [False], [_rect(0, 0, 10, 10)])
    b = evaluate_image([_rect(0, 0, 10, 10), _rect(50, 50, 10, 10)], [False, False], [])
    m = aggregate([a, b])
    assert (m["n_gt"], m["n_det"], m["n_match"]) == (3, 1, 1)
    assert m["precision"] == 1.0 and m["recall"] == pytest.approx(1 / 3) and m["hmean"] == pytest.approx(0.5)


def test_empty_image_scores_one() -> None:
    assert evaluate_image([], [], []).metrics()["hmean"] == 1.0


def test_draw_errors_colours_misses_and_false_alarms() -> None:
    img = np.full((200, 200), 255, np.uint8)
    gt, det = [_rect(10, 10, 80, 20)], [_rect(100, 150, 80, 20)]
    res = evaluate_image(gt, [False], det)
    pic = draw_errors(img, gt, det, res)
    assert pic.shape == (200, 200, 3)
    assert tuple(pic[10, 50]) == (0, 0, 255)  # missed ground truth: red edge
    assert tuple(pic[150, 140]) == (255, 80, 0)  # false alarm: blue edge
