"""Full-page OCR without torch: detect → reading order → perspective crop → rotate tall crops → recognise.

``OcrPipeline(detector, recognizer)`` takes any detector returning a ``DetResult`` (``DBDetector`` subclasses:
the PyTorch ``semiocr.core.inference.detector.TextDetector`` or an ONNX Runtime runner) and any object with
``predict(images) -> list[Decoded]``. Semantics follow RapidOCR 1.4.4 (det + rec, no angle classifier) so
results match it; images of any size and format are accepted (``runtime.det_preprocess`` bounds the size).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Protocol

import cv2
import numpy as np

from semiocr.runtime.ctc import Decoded
from semiocr.runtime.det_postprocess import DBPostprocessConfig, boxes_from_prob, filter_boxes, sort_reading_order
from semiocr.runtime.det_preprocess import (
    DetPreprocessConfig,
    PageTransform,
    config_from_input_spec,
    prepare_page,
    preprocess_det,
)
from semiocr.runtime.images import ensure_bgr_uint8

#: crops at least this much taller than wide are rotated 90° counter-clockwise before recognition
TALL_RATIO = 1.5


@dataclass
class DetResult:
    """Boxes ``[K, 4, 2]`` (tl, tr, br, bl) in page and original coordinates, their scores, and the page."""

    page_boxes: np.ndarray
    boxes: np.ndarray
    scores: np.ndarray
    page: np.ndarray
    transform: PageTransform


class DBDetector:
    """DB text detection on whole images: :func:`prepare_page` → ``prob_map`` (the network, supplied by a
    subclass) → DB postprocess → original coordinates. Normalisation and side limit come from the weights'
    input spec over ``pre``'s defaults."""

    def __init__(self, input_spec: Mapping | None = None, pre: DetPreprocessConfig | None = None,
                 post: DBPostprocessConfig | None = None):
        self.pre = config_from_input_spec(input_spec, pre)
        self.post = post or DBPostprocessConfig()

    def network_input(self, page: np.ndarray) -> np.ndarray:
        """The ``[1, 3, H, W]`` float32 input of a prepared page."""
        return preprocess_det(page, self.pre)

    def prob_map(self, page: np.ndarray) -> np.ndarray:
        """Probability map ``[H', W']`` of a prepared page at network resolution."""
        raise NotImplementedError

    def detect_page(self, page: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Boxes ``[K, 4, 2]`` float32 and scores on a prepared page, in page pixels."""
        boxes, scores = boxes_from_prob(self.prob_map(page), page.shape[:2], self.post)
        return filter_boxes(boxes, scores, page.shape[:2])

    def __call__(self, img: np.ndarray) -> DetResult:
        """Detect text on any image (gray, BGRA, 1×1, huge: see ``det_preprocess`` for the size limits)."""
        page, transform = prepare_page(img, self.pre)
        page_boxes, scores = self.detect_page(page)
        return DetResult(page_boxes, transform.to_original(page_boxes), scores, page, transform)


class LineRecognizer(Protocol):
    """Anything that reads text-line crops (BGR uint8) into ``Decoded`` results, one per crop, in order
    (the PyTorch ``Recognizer`` or an ONNX Runtime runner)."""

    def predict(self, images: Sequence[np.ndarray]) -> list[Decoded]: ...


def rotate_crop(img: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Perspective-crop quad ``points`` (tl, tr, br, bl) to an upright rectangle (cubic, replicated border);
    crops with height/width ≥ 1.5 are rotated 90° counter-clockwise (vertical text read left to right)."""
    pts = np.asarray(points, dtype=np.float32)
    width = max(1, int(max(np.linalg.norm(pts[0] - pts[1]), np.linalg.norm(pts[2] - pts[3]))))
    height = max(1, int(max(np.linalg.norm(pts[0] - pts[3]), np.linalg.norm(pts[1] - pts[2]))))
    dst = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(pts, dst)
    crop = cv2.warpPerspective(img, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE, flags=cv2.INTER_CUBIC)
    if crop.shape[0] / crop.shape[1] >= TALL_RATIO:
        crop = np.ascontiguousarray(np.rot90(crop))
    return crop


@dataclass
class OcrLine:
    """One read line: polygon in original-image pixels (tl, tr, br, bl), text, recognition and box scores."""

    polygon: list[list[float]]
    text: str
    score: float
    box_score: float
    angle: int = 0  # 180: the crop was read turned upside down (``rotate_180``)


@dataclass
class OcrResult:
    """All lines of one image in reading order, the image size and the time per stage (ms)."""

    lines: list[OcrLine]
    width: int
    height: int
    timings_ms: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-ready dict: ``{"width", "height", "lines": [{"polygon", "text", "score", "box_score", "angle"}],
        ...}``."""
        return asdict(self)

    def to_json(self, **kw) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, **kw)


class OcrPipeline:
    """Detector → reading order → crops → recogniser. Lines whose recognition score is under ``text_score``
    are dropped (RapidOCR's and PaddleOCR's default 0.5); ``text_score=0`` keeps them all."""

    def __init__(self, detector: DBDetector, recognizer: LineRecognizer, text_score: float = 0.5):
        self.detector = detector
        self.recognizer = recognizer
        self.text_score = text_score

    def __call__(self, img: np.ndarray) -> OcrResult:
        """OCR one image (BGR/gray/BGRA, any size); never raises on an image without text."""
        img = ensure_bgr_uint8(np.asarray(img))
        t0 = time.perf_counter()
        det = self.detector(img)
        t1 = time.perf_counter()
        order = sort_reading_order(det.page_boxes)
        crops = [rotate_crop(det.page, det.page_boxes[i]) for i in order]
        decoded = self.recognizer.predict(crops) if crops else []
        t2 = time.perf_counter()
        lines = [
            OcrLine(det.boxes[i].round(2).tolist(), d.text, round(d.confidence, 6), round(float(det.scores[i]), 6),
                    d.angle)
            for i, d in zip(order, decoded, strict=True)
            if d.confidence >= self.text_score
        ]
        timings = {"det": (t1 - t0) * 1e3, "rec": (t2 - t1) * 1e3, "total": (t2 - t0) * 1e3}
        return OcrResult(lines, img.shape[1], img.shape[0], timings)


def draw_result(img: np.ndarray, result: OcrResult) -> np.ndarray:
    """Picture of ``result`` on ``img``: boxes on the left, their text on the right (BGR uint8)."""
    from semiocr.runtime.draw import draw_ocr

    return draw_ocr(img, [line.polygon for line in result.lines], [line.text for line in result.lines])


