"""DB postprocess: same boxes as RapidOCR 1.4.4's implementation on generated maps."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from rapidocr_onnxruntime.ch_ppocr_det.text_detect import TextDetector as RapidDetector
from rapidocr_onnxruntime.ch_ppocr_det.utils import DBPostProcess

from semiocr.runtime.det_postprocess import DBPostprocessConfig, boxes_from_prob, filter_boxes, sort_reading_order


def _prob_map(seed: int, h: int = 320, w: int = 480, n: int = 8) -> np.ndarray:
    rng = np.random.default_rng(seed)
    prob = rng.uniform(0, 0.2, size=(h, w)).astype(np.float32)
    for _ in range(n):
        cx, cy = rng.uniform(20, w - 20), rng.uniform(20, h - 20)
        rect = ((cx, cy), (rng.uniform(4, 120), rng.uniform(2, 30)), rng.uniform(-40, 40))
        pts = cv2.boxPoints(rect).astype(np.int32)
        cv2.fillPoly(prob, [pts], float(rng.uniform(0.35, 0.95)))
    return cv2.GaussianBlur(prob, (3, 3), 0)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("score_mode", ["fast", "slow"])
def test_boxes_match_rapidocr(seed: int, score_mode: str) -> None:
    prob = _prob_map(seed)
    dest = (700, 1000)
    ref = DBPostProcess(thresh=0.3, box_thresh=0.5, max_candidates=1000, unclip_ratio=1.6,
                        score_mode=score_mode, use_dilation=True)
    ref_boxes, ref_scores = ref(prob[None, None], dest)
    boxes, scores = boxes_from_prob(prob, dest, DBPostprocessConfig(score_mode=score_mode))
    assert len(ref_boxes) > 0
    np.testing.assert_array_equal(boxes, ref_boxes)
    np.testing.assert_allclose(scores, ref_scores, rtol=1e-5)
    ref_filtered = RapidDetector.filter_tag_det_res(RapidDetector.__new__(RapidDetector), ref_boxes.copy(), dest)
    filtered, _ = filter_boxes(boxes, scores, dest)
    np.testing.assert_array_equal(filtered, ref_filtered)


def test_empty_map_gives_no_boxes() -> None:
    boxes, scores = boxes_from_prob(np.zeros((64, 64), np.float32), (64, 64))
    assert boxes.shape == (0, 4, 2) and scores.shape == (0,)
    assert filter_boxes(boxes, scores, (64, 64))[0].shape == (0, 4, 2)


def test_reading_order_matches_rapidocr() -> None:
    from rapidocr_onnxruntime.main import RapidOCR

    rng = np.random.default_rng(0)
    tl = np.stack([rng.integers(0, 500, 30), rng.integers(0, 60, 30)], axis=1).astype(np.float32)
    boxes = np.stack([tl, tl + [50, 0], tl + [50, 20], tl + [0, 20]], axis=1)
    expected = RapidOCR.sorted_boxes(boxes)
    got = boxes[sort_reading_order(boxes)]
    np.testing.assert_array_equal(np.array(expected), got)
