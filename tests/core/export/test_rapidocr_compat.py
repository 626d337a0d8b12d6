"""Our exported PP-OCRv4 mobile models, loaded unmodified by ``rapidocr_onnxruntime==1.4.4`` in place of its own
(``RapidOCR(rec_model_path=..., det_model_path=...)``), read generated pages as our PyTorch pipeline does.

Text must be identical. Boxes: RapidOCR with our detector against RapidOCR with its original detector, both
rounded to integers by RapidOCR, at most 1 px (our port reproduces the original's probability map to ~2e-5, so
only a map pixel lying that close to the 0.3 threshold can flip); against our PyTorch pipeline, whose corners are
not rounded, at most 2 px (as in ``tests/core/inference/test_parity_rapidocr.py``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rapidocr_onnxruntime import RapidOCR
from text_pages import generated_page

from semiocr.core.export.onnx import export_onnx
from semiocr.core.inference.pipeline import build_pipeline
from semiocr.runtime.pipeline import OcrPipeline

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("single_thread")]
SEEDS = (0, 1, 6)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    where = tmp_path_factory.mktemp("exported")
    det = export_onnx("PP-OCRv4-mobile-det", where / "det.onnx", threads=1).path
    rec = export_onnx("PP-OCRv4-mobile-rec", where / "rec.onnx", threads=1).path
    return det, rec


@pytest.fixture(scope="module")
def ours() -> OcrPipeline:
    return build_pipeline("PP-OCRv4-mobile-det", "PP-OCRv4-mobile-rec")


def _rapid(**paths: Path) -> RapidOCR:
    return RapidOCR(intra_op_num_threads=1, inter_op_num_threads=1, **{k: str(v) for k, v in paths.items()})


@pytest.mark.parametrize("seed", SEEDS)
def test_rapidocr_reads_with_our_recognizer_what_we_read(exported, ours: OcrPipeline, seed: int) -> None:
    img, truth = generated_page(seed)
    rapid = _rapid(rec_model_path=exported[1])
    assert "semiocr" in rapid.text_rec.session.session.get_modelmeta().custom_metadata_map  # our file it runs
    theirs, _ = rapid(img, use_cls=False)
    got = ours(img)
    assert theirs and [r[1] for r in theirs] == [line.text for line in got.lines]
    assert sum(r[1] == t for r, (t, _) in zip(theirs, truth, strict=False)) >= len(truth) - 1  # and it reads well


@pytest.mark.parametrize("seed", SEEDS)
def test_rapidocr_finds_with_our_detector_the_boxes_of_its_own(exported, ours: OcrPipeline, seed: int) -> None:
    img, _ = generated_page(seed)
    original, _ = _rapid()(img, use_cls=False)
    rapid = _rapid(det_model_path=exported[0])
    assert "semiocr" in rapid.text_det.infer.session.get_modelmeta().custom_metadata_map
    with_ours, _ = rapid(img, use_cls=False)
    both_ours, _ = _rapid(det_model_path=exported[0], rec_model_path=exported[1])(img, use_cls=False)
    got = ours(img)
    assert with_ours and len(with_ours) == len(original) == len(got.lines)
    boxes = np.array([r[0] for r in with_ours], np.float32)
    assert np.abs(boxes - np.array([r[0] for r in original], np.float32)).max() <= 1.0
    assert np.abs(boxes - np.array([line.polygon for line in got.lines], np.float32)).max() <= 2.0
    assert [r[1] for r in both_ours] == [r[1] for r in original] == [line.text for line in got.lines]
