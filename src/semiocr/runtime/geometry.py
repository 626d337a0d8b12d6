"""Polygon measures shared by detection post-processing (``det_postprocess.unclip``), DB label generation and
label checks (torch-free)."""

from __future__ import annotations

import numpy as np


def polygon_area_perimeter(poly: np.ndarray) -> tuple[float, float]:
    """Absolute shoelace area and perimeter of a closed polygon ``[P, 2]`` (computed in float64, in the order of
    RapidOCR's ``unclip`` so that detection boxes stay identical to it)."""
    p = np.asarray(poly, dtype=np.float64).reshape(-1, 2)
    x, y = p[:, 0], p[:, 1]
    area = 0.5 * abs(float(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))))
    perimeter = float(np.linalg.norm(p - np.roll(p, 1, axis=0), axis=1).sum())
    return area, perimeter
