"""Polygon area and perimeter."""

import numpy as np
import pytest
from shapely.geometry import Polygon

from semiocr.runtime.geometry import polygon_area_perimeter


def test_rectangle_either_orientation_any_dtype():
    rect = [[20, 10], [120, 10], [120, 40], [20, 40]]
    for pts in (np.array(rect, np.int32), np.array(rect[::-1], np.float32), rect):
        assert polygon_area_perimeter(pts) == (3000.0, 260.0)


def test_matches_shapely_on_random_simple_polygons():
    rng = np.random.default_rng(0)
    for _ in range(20):
        n = int(rng.integers(3, 9))
        angles = np.sort(rng.uniform(0, 2 * np.pi, n))  # star-shaped around the centre: simple
        radii = rng.uniform(5, 50, n)
        pts = np.stack([100 + radii * np.cos(angles), 80 + radii * np.sin(angles)], axis=1).astype(np.float32)
        ref = Polygon(pts.astype(np.float64))
        assert polygon_area_perimeter(pts) == pytest.approx((ref.area, ref.length), rel=1e-9)


def test_degenerate_polygons():
    assert polygon_area_perimeter(np.array([[0, 0], [10, 0], [20, 0]])) == (0.0, 40.0)
    assert polygon_area_perimeter(np.zeros((4, 2))) == (0.0, 0.0)
