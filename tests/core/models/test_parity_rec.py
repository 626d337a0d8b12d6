"""PP-OCRv4 mobile rec ported to PyTorch reproduces onnxruntime on the original ONNX file (fails on mismatch)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from semiocr.core.models.pretrained import load_preset, reference_session
from semiocr.runtime.charset import Charset
from semiocr.runtime.ctc import ctc_greedy_decode
from semiocr.runtime.rec_preprocess import preprocess_batch

LINES = ["Hello World 2024", "0123456789", "PP-OCRv4 parity test", "INVOICE No. 7731-B", "semiocr: 42.5%",
         "Quick brown fox", "AB-12 CD/34", "中文识别测试"]
TOL = 1e-4


@pytest.fixture(scope="module")
def rec(weights_cache):
    model, charset, meta = load_preset("PP-OCRv4-mobile-rec", cache=weights_cache)
    return model, charset, meta, reference_session("PP-OCRv4-mobile-rec")


@pytest.fixture(scope="module")
def images(line_renderer, fonts):
    return [line_renderer(t, fonts[i % len(fonts)] if t.isascii() else "DejaVuSans.ttf", seed=i)
            for i, t in enumerate(LINES)]


def test_charset_is_ppocr_default_and_head_matches(rec):
    model, charset, meta, _ = rec
    assert charset == Charset.ppocr_default()
    assert model.head.fc.out_features == charset.num_classes == 6625
    assert meta["name_mapping"]["head.fc.weight"] == "linear_85.w_0"


@pytest.mark.parametrize("batched", [False, True])
def test_probabilities_and_text_match_onnxruntime(rec, images, batched):
    model, charset, _, sess = rec
    groups = [images] if batched else [[img] for img in images]
    for group in groups:
        x = preprocess_batch(group)
        ref = sess.run(None, {"x": x})[0]
        with torch.no_grad():
            ours = torch.softmax(model(torch.from_numpy(x)), dim=-1).numpy()
        assert ours.shape == ref.shape and ours.shape[0] == len(group) and ours.shape[2] == 6625
        diff = float(np.abs(ours - ref).max())
        assert diff <= TOL, f"max |dprob| {diff:.2e} > {TOL} on {x.shape}"
        ours_text = [d.text for d in ctc_greedy_decode(ours, charset)]
        ref_text = [d.text for d in ctc_greedy_decode(ref, charset)]
        assert ours_text == ref_text


def test_pretrained_reads_clean_rendered_lines(rec, images):
    """The imported weights are the real ones: clean rendered Latin lines are read (nearly) verbatim."""
    model, charset, _, _ = rec
    with torch.no_grad():
        probs = torch.softmax(model(torch.from_numpy(preprocess_batch(images[:7]))), dim=-1)
    texts = [d.text for d in ctc_greedy_decode(probs.numpy(), charset)]
    exact = sum(t.replace(" ", "") == g.replace(" ", "") for t, g in zip(texts, LINES, strict=False))
    assert exact >= 5, texts


def test_cache_is_reused_and_equal(rec, weights_cache):
    model, _, _, _ = rec
    assert (weights_cache / "PP-OCRv4-mobile-rec.pt").is_file()
    again, _, _ = load_preset("PP-OCRv4-mobile-rec", cache=weights_cache)
    for (k, a), (_, b) in zip(model.state_dict().items(), again.state_dict().items(), strict=True):
        assert torch.equal(a, b), k


def test_rotate_180_reads_upside_down_lines_and_keeps_upright_ones(rec, images):
    import cv2

    from semiocr.core.inference.recognizer import Recognizer

    model, charset, _, _ = rec
    plain, turned = Recognizer(model, charset), Recognizer(model, charset, rotate_180=True)
    upright = images[:7]
    upside_down = [cv2.rotate(img, cv2.ROTATE_180) for img in upright]

    def exact(decoded):
        return sum(d.text.replace(" ", "") == g.replace(" ", "") for d, g in zip(decoded, LINES, strict=False))

    assert exact(plain.predict(upside_down)) <= 1
    read = turned.predict(upside_down)
    assert exact(read) >= 5 and all(d.angle == 180 for d in read if d.text.replace(" ", "") in
                                    {g.replace(" ", "") for g in LINES})
    both = turned.predict(upright)
    assert [d.text for d in both] == [d.text for d in plain.predict(upright)] and exact(both) >= 5
