"""OcrPipeline: detection → reading order → crops → recognition, robust to any image."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from det_tiny_models import DarkInkDetector, TinyRec

from semiocr.core.inference.detector import TextDetector
from semiocr.core.inference.recognizer import Recognizer
from semiocr.runtime.charset import Charset
from semiocr.runtime.det_postprocess import DBPostprocessConfig
from semiocr.runtime.pipeline import OcrPipeline, draw_result, rotate_crop


@pytest.fixture(scope="module")
def pipeline() -> OcrPipeline:
    torch.manual_seed(0)
    charset = Charset(tuple("0123456789abc"))
    rec = Recognizer(TinyRec(charset.num_classes).eval(), charset, batch_size=6)
    # the fixed detector marks whole glyphs (a trained DB model marks them shrunk): expand boxes only slightly
    det = TextDetector(DarkInkDetector(), post=DBPostprocessConfig(unclip_ratio=0.2))
    return OcrPipeline(det, rec, text_score=0.0)


def _page_with_bars() -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    img = np.full((400, 600, 3), 255, np.uint8)
    bars = [(300, 40, 200, 24), (40, 44, 200, 24), (40, 200, 420, 30), (60, 320, 30, 60)]
    for x, y, w, h in bars:
        img[y:y + h, x:x + w] = 0
    return img, bars


def test_finds_text_in_reading_order(pipeline: OcrPipeline) -> None:
    img, bars = _page_with_bars()
    res = pipeline(img)
    assert len(res.lines) == len(bars)
    # reading order: the two bars of the first row left to right, then the wide bar, then the tall one
    for line, (x, y, w, h) in zip(res.lines, [bars[1], bars[0], bars[2], bars[3]], strict=True):
        poly = np.array(line.polygon)
        assert np.allclose(poly.min(axis=0), [x, y], atol=8) and np.allclose(poly.max(axis=0), [x + w, y + h], atol=8)
        assert 0 <= line.score <= 1 and 0.5 <= line.box_score <= 1
    doc = json.loads(res.to_json())
    assert doc["width"] == 600 and len(doc["lines"]) == 4 and set(doc["lines"][0]) >= {"polygon", "text", "score"}
    pic = draw_result(img, res)
    assert pic.shape == (400, 1200, 3) and (pic[:, 600:] < 255).any()


def test_text_score_filters_lines(pipeline: OcrPipeline) -> None:
    img, _ = _page_with_bars()
    strict = OcrPipeline(pipeline.detector, pipeline.recognizer, text_score=1.01)
    assert strict(img).lines == []


@pytest.mark.parametrize("shape", [(1, 1), (1, 1, 3), (300, 200), (2, 2, 4)])
def test_never_crashes_on_empty_tiny_or_gray_images(pipeline: OcrPipeline, shape: tuple[int, ...]) -> None:
    res = pipeline(np.full(shape, 255, np.uint8))
    assert res.lines == [] and (res.height, res.width) == shape[:2]


@pytest.mark.parametrize("shape", [(5, 3000), (3000, 5), (1, 20000)])
def test_flat_slivers_are_letterboxed_and_boxes_stay_inside(pipeline: OcrPipeline, shape: tuple[int, int]) -> None:
    img = np.full(shape, 255, np.uint8)
    img[:, : shape[1] // 2] = 0
    res = pipeline(img)
    for line in res.lines:  # the toy detector also sees the black letterbox bands; they must map inside
        poly = np.array(line.polygon)
        assert (poly >= 0).all() and (poly[:, 0] <= shape[1]).all() and (poly[:, 1] <= shape[0]).all()


def test_huge_image_is_bounded_and_boxes_map_back(pipeline: OcrPipeline) -> None:
    img = np.full((6000, 4000, 3), 255, np.uint8)
    img[3000:3120, 1000:3000] = 0
    res = pipeline(img)
    assert len(res.lines) == 1
    poly = np.array(res.lines[0].polygon)
    assert np.allclose(poly.min(axis=0), [1000, 3000], atol=20) and np.allclose(poly.max(axis=0), [3000, 3120], atol=20)


def test_gray_and_alpha_png_files(pipeline: OcrPipeline, tmp_path: Path) -> None:
    img, _ = _page_with_bars()
    gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    bgra = cv2.cvtColor(img, cv2.COLOR_BGR2BGRA)
    bgra[..., 3] = 255
    bgra[:, :, 3][img[..., 0] == 255] = 0  # transparent background: composited on white
    for name, arr in (("gray.png", gray), ("alpha.png", bgra)):
        cv2.imwrite(str(tmp_path / name), arr)
        loaded = cv2.imread(str(tmp_path / name), cv2.IMREAD_UNCHANGED)
        assert loaded.ndim == (2 if name == "gray.png" else 3)
        assert len(pipeline(loaded).lines) == 4


def test_rotate_crop_is_upright_and_rotates_tall_crops() -> None:
    img = np.zeros((100, 200, 3), np.uint8)
    img[10:30, 20:120] = 200
    wide = rotate_crop(img, np.array([[20, 10], [120, 10], [120, 30], [20, 30]], np.float32))
    assert wide.shape[:2] == (20, 100) and wide.min() == 200
    tall = rotate_crop(img, np.array([[0, 0], [20, 0], [20, 60], [0, 60]], np.float32))
    assert tall.shape[:2] == (20, 60)
