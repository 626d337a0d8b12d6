"""OCR pipelines from weight names: the PyTorch detector and recognizer behind the runtime's ``OcrPipeline``."""

from __future__ import annotations

from pathlib import Path

from semiocr.core.inference.detector import TextDetector
from semiocr.core.inference.recognizer import Recognizer
from semiocr.runtime.pipeline import OcrPipeline


def build_pipeline(det: str | Path, rec: str | Path, device: str = "cpu", text_score: float = 0.5,
                   rotate_180: bool = False) -> OcrPipeline:
    """``OcrPipeline`` from detector and recognizer weights (any name the weights resolver accepts: preset,
    checkpoint file, run directory, marked nickname). Crops are read in batches of 6 sorted by aspect ratio,
    as RapidOCR, so that results match it; ``rotate_180`` also reads each crop upside down and keeps the more
    confident reading."""
    return OcrPipeline(TextDetector.from_weights(det, device=device),
                       Recognizer.from_weights(rec, device=device, batch_size=6, rotate_180=rotate_180), text_score)
