"""Image normalisation to 3-channel BGR uint8."""

import numpy as np
import pytest

from semiocr.runtime.images import ensure_bgr_uint8


@pytest.mark.parametrize("shape,dtype", [((5, 7), np.uint8), ((5, 7, 1), np.uint8), ((5, 7, 4), np.uint8),
                                         ((5, 7, 3), np.uint16)])
def test_ensure_bgr_uint8(shape, dtype):
    img = np.full(shape, 200 if dtype == np.uint8 else 51400, dtype)
    out = ensure_bgr_uint8(img)
    assert out.shape == (5, 7, 3) and out.dtype == np.uint8
    assert out.max() == 200 or shape[-1] == 4
