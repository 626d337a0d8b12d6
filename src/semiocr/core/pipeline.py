"""Full-page OCR: detect → reading order → perspective crop → rotate tall crops → recognise → JSON + picture.

``OcrPipeline(detector, recognizer)`` takes a :class:`~semiocr.core.det.detector.TextDetector` (any DB model:
imported, trained or marked weights) and any object with ``predict(images) -> list[Decoded]`` (the shared
``Recognizer``); :func:`build_pipeline` makes one from weight names or paths. Semantics follow RapidOCR 1.4.4
(det + rec, no angle classifier) so results match it; images of any size and format are accepted (see
``semiocr.core.det.preprocess`` for the size limit: longest side 2000 before detection).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from semiocr.core.decode import Decoded
from semiocr.core.det.detector import TextDetector
from semiocr.core.det.postprocess import sort_reading_order
from semiocr.core.inference.recognizer import Recognizer
from semiocr.core.preprocess import ensure_bgr_uint8

#: crops at least this much taller than wide are rotated 90° counter-clockwise before recognition
TALL_RATIO = 1.5


class LineRecognizer(Protocol):
    """Anything that reads text-line crops (BGR uint8) into ``Decoded`` results, one per crop, in order
    (``semiocr.core.inference.recognizer.Recognizer`` is the one implementation)."""

    def predict(self, images: Sequence[np.ndarray]) -> list[Decoded]: ...


def load_recognizer(spec: str | Path, device: str = "cpu", batch_size: int = 6, rotate_180: bool = False
                    ) -> Recognizer:
    """A recognizer from a preset name (``"PP-OCRv4-mobile-rec"``) or a checkpoint file / run directory.
    Batches of 6 crops sorted by aspect ratio, as RapidOCR, so that results match it; ``rotate_180`` also reads
    each crop upside down and keeps the more confident reading."""
    from semiocr.core.models.pretrained import list_pretrained, load_pretrained

    if str(spec) in list_pretrained():
        model, charset, meta = load_pretrained(str(spec))
        if charset is None:
            raise ValueError(f"{spec} is a detector preset, not a recognizer")
        return Recognizer(model.to(device).eval(), charset, device, batch_size=batch_size, meta=meta,
                          rotate_180=rotate_180)
    return Recognizer.from_checkpoint(spec, device=device, batch_size=batch_size, rotate_180=rotate_180)


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

    def __init__(self, detector: TextDetector, recognizer: LineRecognizer, text_score: float = 0.5):
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
    from semiocr.core.draw import draw_ocr

    return draw_ocr(img, [line.polygon for line in result.lines], [line.text for line in result.lines])


def build_pipeline(det: str | Path, rec: str | Path, device: str = "cpu", text_score: float = 0.5,
                   rotate_180: bool = False) -> OcrPipeline:
    """``OcrPipeline`` from detector and recognizer weights: preset names (``"PP-OCRv4-mobile-det"``,
    ``"PP-OCRv4-mobile-rec"``), checkpoint files or run directories (trained or marked weights).
    ``rotate_180`` reads upside-down lines too (see ``load_recognizer``)."""
    from semiocr.core.det.weights import load_detector

    model, meta = load_detector(det, device=device)
    return OcrPipeline(TextDetector(model, meta, device=device),
                       load_recognizer(rec, device=device, rotate_180=rotate_180), text_score)
