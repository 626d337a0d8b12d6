"""DB postprocess and detection preprocessing: same boxes as RapidOCR 1.4.4's implementation on generated maps."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from rapidocr_onnxruntime.ch_ppocr_det.text_detect import TextDetector as RapidDetector
from rapidocr_onnxruntime.ch_ppocr_det.utils import DBPostProcess, DetPreProcess

from semiocr.runtime.det_postprocess import DBPostprocessConfig, boxes_from_prob, filter_boxes, sort_reading_order
from semiocr.runtime.det_preprocess import DetPreprocessConfig, det_resize, prepare_page, preprocess_det


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


@pytest.mark.parametrize("hw", [(100, 200), (736, 1000), (1000, 700), (33, 500), (2000, 1500)])
@pytest.mark.parametrize("limit_type", ["min", "max"])
def test_det_resize_matches_rapidocr(hw: tuple[int, int], limit_type: str) -> None:
    img = np.random.default_rng(1).integers(0, 255, (*hw, 3), dtype=np.uint8)
    ref = DetPreProcess(736, limit_type)(img)
    ours = preprocess_det(img, DetPreprocessConfig(limit_type=limit_type))
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, atol=1e-6)


@pytest.mark.parametrize("hw", [(1, 1), (5, 4000), (40000, 30), (12, 12), (3000, 4000), (20, 900)])
def test_prepare_page_bounds_every_size(hw: tuple[int, int]) -> None:
    img = np.zeros((*hw, 3), np.uint8)
    page, tf = prepare_page(img)
    h, w = page.shape[:2]
    assert max(h - 2 * tf.pad_top, w) <= 2000 + 32 and min(h, w) >= 30
    net = det_resize(page)
    assert net.shape[0] % 32 == 0 and net.shape[1] % 32 == 0 and net.size > 0
    # the page corners map back onto the original image corners
    corners = np.array([[[0, tf.pad_top], [w, h - tf.pad_top]]], np.float32)
    np.testing.assert_allclose(tf.to_original(corners)[0], [[0, 0], [hw[1], hw[0]]], atol=1e-3)


def test_prepare_page_accepts_gray_and_alpha() -> None:
    gray = np.full((50, 60), 200, np.uint8)
    bgra = np.zeros((50, 60, 4), np.uint8)
    assert prepare_page(gray)[0].shape[2] == 3
    assert prepare_page(bgra)[0].shape[2] == 3
