"""The one CTC greedy decoder: argmax per frame, collapse repeats, drop blanks.

Confidence is the mean of the kept frames' max-probabilities (0.0 for an empty result), as in PaddleOCR.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from semiocr.runtime.charset import Charset


@dataclass(frozen=True)
class Decoded:
    """A decoded line: text, sequence confidence, and per-character scores and frame indices."""

    text: str
    confidence: float
    char_scores: tuple[float, ...]
    char_frames: tuple[int, ...]
    angle: int = 0  # 180: read from the image turned upside down (``Recognizer(rotate_180=True)``)


def ctc_greedy_decode(probs: np.ndarray, charset: Charset) -> list[Decoded]:
    """Decode ``[N, T, C]`` probabilities (softmax already applied, a numpy array) into ``N`` lines."""
    probs = np.asarray(probs)
    if probs.ndim != 3 or probs.shape[2] != charset.num_classes:
        raise ValueError(f"expected probabilities [N, T, {charset.num_classes}], got {list(probs.shape)}")
    classes = charset.classes
    best = probs.argmax(axis=2)
    best_p = np.take_along_axis(probs, best[..., None], axis=2)[..., 0]  # the max without a second pass
    out: list[Decoded] = []
    for idx, p in zip(best, best_p, strict=True):
        keep = np.ones(len(idx), dtype=bool)
        keep[1:] = idx[1:] != idx[:-1]
        keep &= idx != 0
        frames = np.nonzero(keep)[0]
        scores = p[frames]
        out.append(Decoded(
            text="".join(classes[i] for i in idx[frames]),
            confidence=float(scores.mean()) if len(scores) else 0.0,
            char_scores=tuple(float(s) for s in scores),
            char_frames=tuple(int(f) for f in frames),
        ))
    return out


def pick_orientation(upright: Sequence[Decoded], turned: Sequence[Decoded]) -> list[Decoded]:
    """Per line, the more confident of the upright and the 180°-turned reading (``angle`` 180 for the latter)."""
    return [replace(t, angle=180) if t.confidence > d.confidence else d for d, t in zip(upright, turned, strict=True)]
