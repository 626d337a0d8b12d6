"""DB postprocess: probability map → text boxes in page coordinates.

Semantics of RapidOCR 1.4.4 / PaddleOCR ``DBPostProcess`` (so boxes match them): binarise at ``thresh``,
optionally dilate with a 2×2 kernel, take each contour's minimum-area rectangle, drop it when its short side is
under ``min_size`` or its mean probability ('fast': inside the rectangle; 'slow': inside the contour) is under
``box_thresh``, expand it with pyclipper by ``area * unclip_ratio / perimeter``, take the expanded polygon's
minimum-area rectangle again, drop it when its short side is under ``min_size + 2``, then rescale to the page
size and round to integers. :func:`filter_boxes` orders corners clockwise from top-left, clips to the page and
drops boxes 3 pixels thin or less; :func:`sort_reading_order` orders boxes top-to-bottom, left-to-right.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import pyclipper

from semiocr.runtime.geometry import polygon_area_perimeter


@dataclass(frozen=True)
class DBPostprocessConfig:
    """DB postprocess settings (RapidOCR 1.4.4 defaults)."""

    thresh: float = 0.3
    box_thresh: float = 0.5
    max_candidates: int = 1000
    unclip_ratio: float = 1.6
    use_dilation: bool = True
    score_mode: str = "fast"
    min_size: int = 3

    def __post_init__(self) -> None:
        if self.score_mode not in ("fast", "slow"):
            raise ValueError(f"score_mode must be 'fast' or 'slow', got {self.score_mode!r}")


def mini_box(contour: np.ndarray) -> tuple[np.ndarray, float]:
    """Minimum-area rectangle of ``contour`` as 4 corners (tl, tr, br, bl by x-then-y rule) and its short side."""
    rect = cv2.minAreaRect(contour)
    pts = sorted(cv2.boxPoints(rect).tolist(), key=lambda p: p[0])
    left = (pts[0], pts[1]) if pts[1][1] > pts[0][1] else (pts[1], pts[0])  # (top, bottom)
    right = (pts[2], pts[3]) if pts[3][1] > pts[2][1] else (pts[3], pts[2])
    box = np.array([left[0], right[0], right[1], left[1]], dtype=np.float32)
    return box, float(min(rect[1]))


def _masked_mean(prob: np.ndarray, poly: np.ndarray) -> float:
    h, w = prob.shape
    x0 = int(np.clip(np.floor(poly[:, 0].min()), 0, w - 1))
    x1 = int(np.clip(np.ceil(poly[:, 0].max()), 0, w - 1))
    y0 = int(np.clip(np.floor(poly[:, 1].min()), 0, h - 1))
    y1 = int(np.clip(np.ceil(poly[:, 1].max()), 0, h - 1))
    mask = np.zeros((y1 - y0 + 1, x1 - x0 + 1), dtype=np.uint8)
    shifted = (poly - np.array([x0, y0], dtype=poly.dtype)).astype(np.int32)
    cv2.fillPoly(mask, shifted.reshape(1, -1, 2), 1)
    return float(cv2.mean(prob[y0:y1 + 1, x0:x1 + 1], mask)[0])


def unclip(box: np.ndarray, ratio: float) -> np.ndarray:
    """Expand a polygon by ``area * ratio / perimeter`` (rounded joins); returns ``[P, 2]`` (may be empty)."""
    area, length = polygon_area_perimeter(box)
    if length == 0:
        return np.zeros((0, 2), dtype=np.float32)
    offset = pyclipper.PyclipperOffset()
    offset.AddPath(np.asarray(box).tolist(), pyclipper.JT_ROUND, pyclipper.ET_CLOSEDPOLYGON)
    expanded = offset.Execute(area * ratio / length)
    if not expanded:
        return np.zeros((0, 2), dtype=np.float32)
    return np.asarray(expanded[0], dtype=np.float32)


def boxes_from_prob(prob: np.ndarray, dest_hw: tuple[int, int],
                    cfg: DBPostprocessConfig = DBPostprocessConfig()) -> tuple[np.ndarray, np.ndarray]:
    """One probability map ``[H, W]`` → int boxes ``[K, 4, 2]`` scaled to ``dest_hw`` and scores ``[K]``."""
    prob = np.asarray(prob, dtype=np.float32)
    height, width = prob.shape
    bitmap = (prob > cfg.thresh).astype(np.uint8)
    if cfg.use_dilation:
        bitmap = cv2.dilate(bitmap, np.ones((2, 2), dtype=np.uint8))
    contours, _ = cv2.findContours(bitmap * 255, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    dest_h, dest_w = dest_hw
    boxes, scores = [], []
    for contour in contours[: cfg.max_candidates]:
        points, sside = mini_box(contour)
        if sside < cfg.min_size:
            continue
        poly = points if cfg.score_mode == "fast" else contour.reshape(-1, 2)
        score = _masked_mean(prob, poly)
        if cfg.box_thresh > score:
            continue
        expanded = unclip(points, cfg.unclip_ratio)
        if len(expanded) < 3:
            continue
        box, sside = mini_box(expanded.reshape(-1, 1, 2))
        if sside < cfg.min_size + 2:
            continue
        box[:, 0] = np.clip(np.round(box[:, 0] / width * dest_w), 0, dest_w)
        box[:, 1] = np.clip(np.round(box[:, 1] / height * dest_h), 0, dest_h)
        boxes.append(box.astype(np.int32))
        scores.append(score)
    return np.array(boxes, dtype=np.int32).reshape(-1, 4, 2), np.array(scores, dtype=np.float32)


def order_clockwise(pts: np.ndarray) -> np.ndarray:
    """Four points → (top-left, top-right, bottom-right, bottom-left): two left-most by x, each pair by y."""
    by_x = pts[np.argsort(pts[:, 0], kind="stable")]
    left = by_x[:2][np.argsort(by_x[:2, 1], kind="stable")]
    right = by_x[2:][np.argsort(by_x[2:, 1], kind="stable")]
    return np.array([left[0], right[0], right[1], left[1]], dtype=np.float32)


def filter_boxes(boxes: np.ndarray, scores: np.ndarray, page_hw: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Order corners clockwise, clip to the page (integer pixels) and drop boxes 3 pixels thin or less."""
    h, w = page_hw
    kept, kept_scores = [], []
    for box, score in zip(boxes, scores, strict=True):
        box = order_clockwise(np.asarray(box, dtype=np.float32))
        box[:, 0] = np.floor(np.clip(box[:, 0], 0, w - 1))
        box[:, 1] = np.floor(np.clip(box[:, 1], 0, h - 1))
        if int(np.linalg.norm(box[0] - box[1])) <= 3 or int(np.linalg.norm(box[0] - box[3])) <= 3:
            continue
        kept.append(box)
        kept_scores.append(score)
    return np.array(kept, dtype=np.float32).reshape(-1, 4, 2), np.array(kept_scores, dtype=np.float32)


def sort_reading_order(boxes: np.ndarray) -> np.ndarray:
    """Indices ordering boxes top-to-bottom, then left-to-right within a line (top-left y within 10 px)."""
    order = sorted(range(len(boxes)), key=lambda i: (boxes[i][0][1], boxes[i][0][0]))
    for i in range(len(order) - 1):
        for j in range(i, -1, -1):
            a, b = boxes[order[j]][0], boxes[order[j + 1]][0]
            if abs(b[1] - a[1]) < 10 and b[0] < a[0]:
                order[j], order[j + 1] = order[j + 1], order[j]
            else:
                break
    return np.array(order, dtype=np.int64)
