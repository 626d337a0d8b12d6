"""Detection metrics with the ICDAR 2015 protocol, per-image results and pictures of misses and false alarms.

Protocol: ground-truth polygons transcribed ``###`` (``ignore``) are don't-care; a detection whose area lies
more than ``area_precision`` (0.5) inside one don't-care region is discarded; the remaining detections and
care ground truths are matched one-to-one (highest IoU first) when their polygon IoU exceeds ``iou_thresh``
(0.5). Precision = matches / care detections, recall = matches / care ground truths, Hmean their harmonic mean;
dataset numbers sum the counts over images. Invalid (self-intersecting) polygons are repaired with
``buffer(0)``; polygons with zero area can never match (a zero-area ground truth is dropped, a zero-area
detection counts as a false alarm).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry


def to_polygon(points: Sequence[Sequence[float]] | np.ndarray) -> BaseGeometry:
    """Shapely polygon of ``points`` (repaired when invalid; empty when degenerate)."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(pts) < 3:
        return Polygon()
    poly = Polygon(pts)
    return poly if poly.is_valid else poly.buffer(0)


@dataclass
class ImageDetResult:
    """Per-image outcome: matched ``(gt, det, iou)`` pairs, missed ground truths, false alarms, don't-cares."""

    n_gt: int
    n_det: int
    matches: list[tuple[int, int, float]] = field(default_factory=list)
    missed: list[int] = field(default_factory=list)
    false_alarms: list[int] = field(default_factory=list)
    gt_dontcare: list[int] = field(default_factory=list)
    det_dontcare: list[int] = field(default_factory=list)

    @property
    def n_match(self) -> int:
        return len(self.matches)

    def metrics(self) -> dict[str, float]:
        return prf(self.n_match, self.n_gt, self.n_det)


def prf(n_match: int, n_gt: int, n_det: int) -> dict[str, float]:
    """Precision, recall and Hmean (an image with neither care ground truth nor detection scores 1)."""
    recall = n_match / n_gt if n_gt else 1.0
    precision = n_match / n_det if n_det else (1.0 if n_gt == 0 else 0.0)
    hmean = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "hmean": hmean}


def _iou(a: BaseGeometry, b: BaseGeometry) -> float:
    if a.is_empty or b.is_empty or not a.intersects(b):
        return 0.0
    inter = a.intersection(b).area
    union = a.area + b.area - inter
    return inter / union if union > 0 else 0.0


def evaluate_image(gt_polys: Sequence, gt_ignore: Sequence[bool], det_polys: Sequence,
                   iou_thresh: float = 0.5, area_precision: float = 0.5) -> ImageDetResult:
    """Match one image's detections to its ground truth with the ICDAR 2015 rules (see module doc)."""
    gts = [to_polygon(p) for p in gt_polys]
    dets = [to_polygon(p) for p in det_polys]
    care_gt = [i for i, g in enumerate(gts) if not gt_ignore[i] and g.area > 0]
    dontcare_gt = [i for i in range(len(gts)) if gt_ignore[i]]
    det_dc = [j for j, d in enumerate(dets) if d.area > 0 and any(
        d.intersection(gts[i]).area / d.area > area_precision for i in dontcare_gt if not gts[i].is_empty)]
    care_det = [j for j in range(len(dets)) if j not in set(det_dc)]
    pairs = sorted(((_iou(gts[i], dets[j]), i, j) for i in care_gt for j in care_det), reverse=True)
    used_g, used_d, matches = set(), set(), []
    for iou, i, j in pairs:
        if iou <= iou_thresh:
            break
        if i not in used_g and j not in used_d:
            used_g.add(i)
            used_d.add(j)
            matches.append((i, j, iou))
    return ImageDetResult(
        n_gt=len(care_gt), n_det=len(care_det), matches=sorted(matches),
        missed=[i for i in care_gt if i not in used_g], false_alarms=[j for j in care_det if j not in used_d],
        gt_dontcare=dontcare_gt, det_dontcare=det_dc)


def aggregate(results: Sequence[ImageDetResult]) -> dict[str, float]:
    """Dataset precision/recall/Hmean from summed counts, plus the counts."""
    n_match = sum(r.n_match for r in results)
    n_gt = sum(r.n_gt for r in results)
    n_det = sum(r.n_det for r in results)
    return {**prf(n_match, n_gt, n_det), "n_gt": n_gt, "n_det": n_det, "n_match": n_match, "n_images": len(results)}


def _poly_lines(img: np.ndarray, polys: Sequence, idx: Sequence[int], color: tuple[int, int, int], thick: int) -> None:
    for i in idx:
        pts = np.asarray(polys[i], dtype=np.float32).reshape(-1, 2).round().astype(np.int32)
        if len(pts) >= 2:
            cv2.polylines(img, [pts], True, color, thick, cv2.LINE_AA)


def draw_errors(img: np.ndarray, gt_polys: Sequence, det_polys: Sequence, res: ImageDetResult) -> np.ndarray:
    """Picture of one image's evaluation: matched ground truth green, missed ground truth red, false alarms
    blue, don't-care regions and discarded detections grey."""
    from semiocr.runtime.images import ensure_bgr_uint8

    out = ensure_bgr_uint8(np.asarray(img)).copy()
    thick = max(1, round(max(out.shape[:2]) / 600))
    _poly_lines(out, gt_polys, res.gt_dontcare, (160, 160, 160), thick)
    _poly_lines(out, det_polys, res.det_dontcare, (160, 160, 160), thick)
    _poly_lines(out, gt_polys, [m[0] for m in res.matches], (0, 180, 0), thick)
    _poly_lines(out, gt_polys, res.missed, (0, 0, 255), thick * 2)
    _poly_lines(out, det_polys, res.false_alarms, (255, 80, 0), thick * 2)
    return out
