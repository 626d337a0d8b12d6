"""Recognition preprocessing: aspect-preserving resize, normalisation, padding to the batch width."""

import numpy as np

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
