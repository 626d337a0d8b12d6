"""Dataset-level detection report: summary, per-image JSONL, pictures of errors."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from det_tiny_models import DarkInkDetector

from semiocr.core.data.detection import DetSample
from semiocr.core.eval.det_report import evaluate_detection
from semiocr.core.inference.detector import TextDetector
from semiocr.runtime.det_postprocess import DBPostprocessConfig


def _rect(x: float, y: float, w: float, h: float) -> np.ndarray:
    return np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], np.float32)


def _dataset(tmp_path: Path) -> list[DetSample]:
    samples = []
    for k in range(3):
        img = np.full((240, 320, 3), 255, np.uint8)
        img[40:70, 30:230] = 0
        img[150:180, 60:260] = 0
        cv2.imwrite(str(tmp_path / f"p{k}.png"), img)
        gts = [_rect(30, 40, 200, 30), _rect(60, 150, 200, 30)]
        if k == 2:  # a ground-truth line with no ink: a miss
            gts.append(_rect(100, 100, 150, 20))
        samples.append(DetSample(tmp_path / f"p{k}.png", gts, ["a"] * len(gts), [False] * len(gts), f"page {k}"))
    return samples


def test_report_counts_misses_and_writes_files(tmp_path: Path) -> None:
    samples = _dataset(tmp_path)
    det = TextDetector(DarkInkDetector(), post=DBPostprocessConfig(unclip_ratio=0.2))
    out = tmp_path / "report"
    rep = evaluate_detection(lambda img: det(img).boxes, samples, out_dir=out)
    s = rep["summary"]
    assert (s["n_gt"], s["n_det"], s["n_match"], s["n_images"]) == (7, 6, 6, 3)
    assert s["precision"] == 1.0 and s["recall"] == pytest.approx(6 / 7)
    assert rep["per_image"][2]["missed"] == [2]
    lines = (out / "per_image.jsonl").read_text().splitlines()
    assert len(lines) == 3 and json.loads(lines[2])["n_gt"] == 3
    assert json.loads((out / "summary.json").read_text())["n_match"] == 6
    pictures = sorted((out / "errors").iterdir())
    assert len(pictures) == 1 and pictures[0].name.endswith("p2.jpg")
