import numpy as np
import pytest

from semiocr.runtime.charset import Charset
from semiocr.runtime.ctc import ctc_greedy_decode
from semiocr.runtime.images import ensure_bgr_uint8
from semiocr.runtime.rec_preprocess import batch_width, preprocess_batch, resize_norm


def test_resize_keeps_aspect_and_pads_with_zero():
    img = np.full((24, 48, 3), 255, np.uint8)  # ratio 2 → 96 px wide at height 48
    out = resize_norm(img, width=320)
    assert out.shape == (3, 48, 320)
    assert np.allclose(out[:, :, :96], 1.0)
    assert np.allclose(out[:, :, 96:], 0.0)


def test_batch_width_follows_widest_image():
    narrow = np.zeros((48, 48, 3), np.uint8)
    wide = np.zeros((10, 100, 3), np.uint8)  # ratio 10 → 480
    assert batch_width([narrow]) == 320
    assert batch_width([narrow, wide]) == 480
    assert preprocess_batch([narrow, wide]).shape == (2, 3, 48, 480)


@pytest.mark.parametrize("shape,dtype", [((5, 7), np.uint8), ((5, 7, 1), np.uint8), ((5, 7, 4), np.uint8),
                                         ((5, 7, 3), np.uint16)])
def test_ensure_bgr_uint8(shape, dtype):
    img = np.full(shape, 200 if dtype == np.uint8 else 51400, dtype)
    out = ensure_bgr_uint8(img)
    assert out.shape == (5, 7, 3) and out.dtype == np.uint8
    assert out.max() == 200 or shape[-1] == 4


def test_greedy_decode_collapses_repeats_and_drops_blanks():
    cs = Charset(("a", "b"))  # classes: blank, a, b, space
    frames = [1, 1, 0, 1, 2, 2, 0]
    probs = np.full((1, len(frames), 4), 0.1, np.float32)
    for t, c in enumerate(frames):
        probs[0, t, c] = 0.7 if t != 4 else 0.9
    (d,) = ctc_greedy_decode(probs, cs)
    assert d.text == "aab"
    assert d.char_frames == (0, 3, 4)
    assert d.confidence == pytest.approx((0.7 + 0.7 + 0.9) / 3)


def test_decode_empty_line_has_zero_confidence_and_checks_classes():
    cs = Charset(("a",))
    probs = np.zeros((2, 3, 3), np.float32)
    probs[:, :, 0] = 1
    assert [d.text for d in ctc_greedy_decode(probs, cs)] == ["", ""]
    assert ctc_greedy_decode(probs, cs)[0].confidence == 0.0
    with pytest.raises(ValueError, match="expected probabilities"):
        ctc_greedy_decode(np.zeros((1, 3, 5)), cs)
