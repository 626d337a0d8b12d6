"""Shared helpers of the wire_markers benchmarks: data loading, RapidOCR-style batching, exact-match accuracy."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np
import torch

from semiocr.core.data.labels import read_labelled
from semiocr.runtime.charset import Charset
from semiocr.runtime.ctc import ctc_greedy_decode
from semiocr.runtime.rec_preprocess import preprocess_batch

DATA = Path(os.environ.get("SEMIOCR_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")) / "wire_markers"
RAPID_BATCH = 6  # RapidOCR 1.4.4 rec_batch_num


def load_split(name: str) -> tuple[list[np.ndarray], list[str]]:
    """Images (BGR uint8, read as RapidOCR reads them) and labels of ``wire_markers/<name>``."""
    samples = read_labelled(DATA, name)
    images = [cv2.imread(str(s.path), cv2.IMREAD_COLOR) for s in samples]
    bad = [str(s.path) for s, im in zip(samples, images, strict=True) if im is None]
    if bad:
        raise FileNotFoundError(f"unreadable images: {bad[:3]}")
    return images, [s.text for s in samples]


def rapid_batches(images: Sequence[np.ndarray]) -> list[list[int]]:
    """Index batches as RapidOCR forms them: sorted by aspect ratio, ``RAPID_BATCH`` per batch."""
    order = np.argsort([im.shape[1] / float(im.shape[0]) for im in images])
    return [list(order[i:i + RAPID_BATCH]) for i in range(0, len(order), RAPID_BATCH)]


def predict_probs(run: Callable[[np.ndarray], np.ndarray], images: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Per-image ``[T, C]`` probabilities with RapidOCR batching; ``run`` maps ``[N,3,48,W]`` → ``[N,T,C]``."""
    out: list[np.ndarray] = [np.empty(0)] * len(images)
    for batch in rapid_batches(images):
        probs = run(preprocess_batch([images[i] for i in batch]))
        for j, i in enumerate(batch):
            out[i] = probs[j]
    return out


def torch_runner(model: torch.nn.Module, device: str = "cpu") -> Callable[[np.ndarray], np.ndarray]:
    """``[N,3,48,W]`` numpy → softmax probabilities numpy with a PyTorch recognizer."""
    model = model.eval().to(device)

    def run(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return torch.softmax(model(torch.from_numpy(x).to(device)), dim=-1).cpu().numpy()

    return run


def texts_of(probs: Sequence[np.ndarray], charset: Charset) -> list[str]:
    return [ctc_greedy_decode(p[None], charset)[0].text for p in probs]


def exact(preds: Sequence[str], labels: Sequence[str]) -> float:
    """Exact-match accuracy in percent."""
    return 100.0 * sum(p == t for p, t in zip(preds, labels, strict=True)) / max(len(labels), 1)
