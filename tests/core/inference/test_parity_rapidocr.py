"""Parity: the imported PP-OCRv4 mobile detector chained with the imported recogniser gives the same boxes and
text as RapidOCR 1.4.4 (det + rec, no angle classifier) on generated pages.

Bound on box coordinates: the PyTorch ports reproduce onnxruntime's probabilities to ≤ 1e-4, so a pixel of the
probability map lying within 1e-4 of the 0.3 threshold can flip, moving a contour by one map pixel; at the
network resolution of these pages one map pixel is at most 1 image pixel, and rounding adds at most 1 more,
hence ``BOX_TOL = 2`` pixels. Text and line count must be identical.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from rapidocr_onnxruntime import RapidOCR
from text_pages import generated_page

from semiocr.core.data.detection import DetSample
from semiocr.core.eval.det_report import evaluate_e2e
from semiocr.core.inference.pipeline import build_pipeline
from semiocr.runtime.pipeline import OcrPipeline

BOX_TOL = 2.0

pytestmark = pytest.mark.usefixtures("single_thread")


@pytest.fixture(scope="module")
def both() -> tuple[OcrPipeline, RapidOCR]:
    ours = build_pipeline("PP-OCRv4-mobile-det", "PP-OCRv4-mobile-rec")
    return ours, RapidOCR(intra_op_num_threads=1, inter_op_num_threads=1)


@pytest.mark.parametrize("seed", [0, 1])
def test_same_boxes_and_text_as_rapidocr(both: tuple[OcrPipeline, RapidOCR], seed: int) -> None:
    ours, rapid = both
    img, _ = generated_page(seed)
    ref, _ = rapid(img, use_cls=False)
    got = ours(img)
    assert ref, "RapidOCR found no text on the generated page"
    assert [line.text for line in got.lines] == [r[1] for r in ref]
    diff = np.abs(np.array([line.polygon for line in got.lines]) - np.array([r[0] for r in ref], np.float32))
    assert diff.max() <= BOX_TOL, f"box corners differ by up to {diff.max()} px"
    np.testing.assert_allclose([line.score for line in got.lines], [r[2] for r in ref], atol=2e-3)


def test_letterboxed_strip_matches_rapidocr(both: tuple[OcrPipeline, RapidOCR]) -> None:
    """A flat strip (width/height > 8) is letterboxed by both; boxes map back to the strip identically."""
    ours, rapid = both
    page, truth = generated_page(4, size=(220, 700))
    x0, y0, x1, y1 = np.array(truth[0][1]).reshape(-1, 2)[[0, 2]].ravel()
    strip = np.ascontiguousarray(page[max(0, y0 - 12):y1 + 12])
    assert strip.shape[1] / strip.shape[0] > 8
    ref, _ = rapid(strip, use_cls=False)
    got = ours(strip)
    assert ref and [line.text for line in got.lines] == [r[1] for r in ref]
    diff = np.abs(np.array([line.polygon for line in got.lines]) - np.array([r[0] for r in ref], np.float32))
    assert diff.max() <= BOX_TOL


def test_end_to_end_metric_on_generated_pages(both: tuple[OcrPipeline, RapidOCR], tmp_path: Path) -> None:
    """Printed pages: every line is found (Hmean 1) and nearly every line is read exactly."""
    pages = []
    for seed in (2, 3):
        img, truth = generated_page(seed)
        cv2.imwrite(str(tmp_path / f"{seed}.png"), img)
        pages.append(DetSample(tmp_path / f"{seed}.png", [np.array(p, np.float32) for _, p in truth],
                               [t for t, _ in truth], [False] * len(truth), f"generated page {seed}"))
    rep = evaluate_e2e(both[0], pages, out_dir=tmp_path / "report")
    s = rep["summary"]
    assert s["hmean"] == 1.0 and s["n_gt"] >= 8
    assert s["e2e_exact"] >= 0.8
    assert len(rep["per_image"]) == 2 and (tmp_path / "report" / "summary.json").is_file()
