"""Full-page OCR: detect → reading order → perspective crop → rotate tall crops → recognise → JSON + picture.

``OcrPipeline(detector, recognizer)`` takes a :class:`~semiocr.core.det.detector.TextDetector` (any DB model:
imported, trained or marked weights) and any object with ``recognize(images) -> list[Decoded]``
(:class:`ModuleRecognizer` wraps any recognition ``nn.Module`` + charset). Semantics follow RapidOCR 1.4.4
(det + rec, no angle classifier) so results match it; images of any size and format are accepted (see
``semiocr.core.det.preprocess`` for the size limit: longest side 2000 before detection).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Protocol

import cv2
import numpy as np
import torch
from torch import nn

from semiocr.core.charset import Charset
from semiocr.core.decode import Decoded, ctc_greedy_decode
from semiocr.core.det.detector import TextDetector
from semiocr.core.det.postprocess import sort_reading_order
from semiocr.core.preprocess import ensure_bgr_uint8, preprocess_batch

#: crops at least this much taller than wide are rotated 90° counter-clockwise before recognition
TALL_RATIO = 1.5


class LineRecognizer(Protocol):
    """Anything that reads text-line crops (BGR uint8) into ``Decoded`` results, one per crop, in order."""

    def recognize(self, images: Sequence[np.ndarray]) -> list[Decoded]: ...


class ModuleRecognizer:
    """Adapter: recognition ``nn.Module`` (logits ``[N, T, C]``) + charset → :class:`LineRecognizer`.

    Crops are sorted by aspect ratio and read in batches of ``batch_size`` padded to the widest of the batch
    (the shared ``preprocess_batch``), then softmax and the shared greedy CTC decoder.
    """

    def __init__(self, model: nn.Module, charset: Charset, batch_size: int = 6, device: str | torch.device = "cpu"):
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.charset = charset
        self.batch_size = batch_size

    @torch.inference_mode()
    def recognize(self, images: Sequence[np.ndarray]) -> list[Decoded]:
        """Read every crop; returns results in the input order."""
        order = np.argsort([img.shape[1] / float(max(img.shape[0], 1)) for img in images], kind="stable")
        out: list[Decoded | None] = [None] * len(images)
        for start in range(0, len(order), self.batch_size):
            idx = order[start:start + self.batch_size]
            x = torch.from_numpy(preprocess_batch([images[i] for i in idx])).to(self.device)
            probs = torch.softmax(self.model(x).float(), dim=-1)
            for i, dec in zip(idx, ctc_greedy_decode(probs, self.charset), strict=True):
                out[i] = dec
        return [d for d in out if d is not None]


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


@dataclass
class OcrResult:
    """All lines of one image in reading order, the image size and the time per stage (ms)."""

    lines: list[OcrLine]
    width: int
    height: int
    timings_ms: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-ready dict: ``{"width", "height", "lines": [{"polygon", "text", "score", "box_score"}], ...}``."""
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
        decoded = self.recognizer.recognize(crops) if crops else []
        t2 = time.perf_counter()
        lines = [
            OcrLine(det.boxes[i].round(2).tolist(), d.text, round(d.confidence, 6), round(float(det.scores[i]), 6))
            for i, d in zip(order, decoded, strict=True)
            if d.confidence >= self.text_score
        ]
        timings = {"det": (t1 - t0) * 1e3, "rec": (t2 - t1) * 1e3, "total": (t2 - t0) * 1e3}
        return OcrResult(lines, img.shape[1], img.shape[0], timings)


def draw_result(img: np.ndarray, result: OcrResult) -> np.ndarray:
    """Picture of ``result`` on ``img``: boxes on the left, their text on the right (BGR uint8)."""
    from semiocr.core.draw import draw_ocr

    return draw_ocr(img, [line.polygon for line in result.lines], [line.text for line in result.lines])
