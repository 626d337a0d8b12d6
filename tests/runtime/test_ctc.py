"""CTC greedy decoding."""

import numpy as np
import pytest

from semiocr.runtime.charset import Charset
from semiocr.runtime.ctc import ctc_greedy_decode


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
