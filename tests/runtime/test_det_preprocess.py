"""Detection preprocessing: the same network input as RapidOCR 1.4.4, and every page size bounded."""

from __future__ import annotations

import numpy as np
import pytest
from rapidocr_onnxruntime.ch_ppocr_det.utils import DetPreProcess

from semiocr.runtime.det_preprocess import DetPreprocessConfig, det_resize, prepare_page, preprocess_det


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
