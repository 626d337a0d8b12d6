"""DB training targets from text polygons (Liao et al. 2020; PaddleOCR's MakeShrinkMap / MakeBorderMap).

* probability (shrink) map: each text polygon shrunk by ``D = A (1 - r²) / L`` (``r = 0.4``, ``A`` area,
  ``L`` perimeter) with pyclipper and filled with 1;
* probability mask: 0 over ``###`` regions, polygons smaller than ``min_text_size`` and polygons that vanish
  when shrunk (they are neither text nor background for the loss), 1 elsewhere;
* threshold map: inside each polygon expanded by ``D``, ``1 - min(dist to the polygon edge / D, 1)`` rescaled
  to ``[thresh_min, thresh_max]`` (0.3..0.7); threshold mask: 1 inside the expanded polygons.

Distances to the polygon edge are computed with an exact L2 distance transform of the rasterised outline
(within a pixel of the analytic point-to-segment distance).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import pyclipper

from semiocr.runtime.geometry import polygon_area_perimeter


@dataclass(frozen=True)
class DBLabelConfig:
    """Label generation settings (PaddleOCR's defaults)."""

    shrink_ratio: float = 0.4
    min_text_size: int = 8
    thresh_min: float = 0.3
    thresh_max: float = 0.7


@dataclass
class DBTargets:
    """Float32 maps ``[H, W]``: probability map and its mask, threshold map and its mask."""

    shrink_map: np.ndarray
    shrink_mask: np.ndarray
    thresh_map: np.ndarray
    thresh_mask: np.ndarray


def offset_polygon(poly: np.ndarray, distance: float) -> list[np.ndarray]:
    """Grow (``distance > 0``) or shrink a polygon with pyclipper (mitre-free rounded joins)."""
    pco = pyclipper.PyclipperOffset()
    pco.AddPath(np.round(poly).astype(np.int64).tolist(), pyclipper.JT_ROUND, pyclipper.ET_CLOSEDPOLYGON)
    return [np.asarray(p, dtype=np.float32) for p in pco.Execute(distance) if len(p) >= 3]


def _draw_border(poly: np.ndarray, distance: float, thresh: np.ndarray, mask: np.ndarray) -> None:
    """Add one polygon's threshold values (max over polygons) and fill its threshold mask."""
    expanded = offset_polygon(poly, distance)
    if not expanded:
        return
    big = max(expanded, key=lambda p: polygon_area_perimeter(p)[0])
    cv2.fillPoly(mask, [np.round(big).astype(np.int32)], 1.0)
    h, w = thresh.shape
    x0, y0 = np.floor(big.min(axis=0)).astype(int)
    x1, y1 = np.ceil(big.max(axis=0)).astype(int)
    bw, bh = x1 - x0 + 1, y1 - y0 + 1
    outline = np.full((bh, bw), 255, np.uint8)
    cv2.polylines(outline, [np.round(poly - [x0, y0]).astype(np.int32)], True, 0, 1)
    dist = cv2.distanceTransform(outline, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    value = 1.0 - np.clip(dist / distance, 0.0, 1.0)
    cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, w - 1), min(y1, h - 1)
    if cx1 < cx0 or cy1 < cy0:
        return
    region = value[cy0 - y0:cy1 - y0 + 1, cx0 - x0:cx1 - x0 + 1]
    view = thresh[cy0:cy1 + 1, cx0:cx1 + 1]
    np.maximum(view, region, out=view)


def make_db_targets(shape: tuple[int, int], polys: Sequence[np.ndarray], ignore: Sequence[bool],
                    cfg: DBLabelConfig = DBLabelConfig()) -> DBTargets:
    """DB targets for an image of ``shape = (H, W)`` with text ``polys`` (``[P, 2]`` each) and ignore flags."""
    h, w = shape
    shrink = np.zeros((h, w), np.float32)
    shrink_mask = np.ones((h, w), np.float32)
    thresh = np.zeros((h, w), np.float32)
    thresh_mask = np.zeros((h, w), np.float32)
    r2 = 1 - cfg.shrink_ratio ** 2
    for poly, ign in zip(polys, ignore, strict=True):
        poly = np.asarray(poly, np.float32).reshape(-1, 2)
        if len(poly) < 3:
            continue
        area, perimeter = polygon_area_perimeter(poly)
        height = min(np.ptp(poly[:, 1]), np.ptp(poly[:, 0]))
        fill = [np.round(poly).astype(np.int32)]
        if ign or area < 1 or height < cfg.min_text_size:
            cv2.fillPoly(shrink_mask, fill, 0.0)
            continue
        distance = area * r2 / perimeter
        shrunk = offset_polygon(poly, -distance)
        if not shrunk:
            cv2.fillPoly(shrink_mask, fill, 0.0)
            continue
        cv2.fillPoly(shrink, [np.round(s).astype(np.int32) for s in shrunk], 1.0)
        _draw_border(poly, distance, thresh, thresh_mask)
    thresh = thresh * (cfg.thresh_max - cfg.thresh_min) + cfg.thresh_min
    return DBTargets(shrink, shrink_mask, thresh.astype(np.float32), thresh_mask)
