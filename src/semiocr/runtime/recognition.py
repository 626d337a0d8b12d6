"""Reading text lines, whatever runs the network: images → one preprocessing (batched by similar width) →
``probs_of_batch`` (PyTorch or ONNX Runtime, supplied by a subclass) → greedy CTC decoding, optionally reading each
line turned by 180° as well (what PP-OCR's 0/180° line classifier is for)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import cv2
import numpy as np

from semiocr.runtime.charset import Charset
from semiocr.runtime.ctc import Decoded, ctc_greedy_decode, pick_orientation
from semiocr.runtime.images import ensure_bgr_uint8
from semiocr.runtime.rec_preprocess import REC_HEIGHT, preprocess_batch, width_batches


class LineReader:
    """``predict(images) -> list[Decoded]`` over a network given by ``probs_of_batch``."""

    def __init__(self, charset: Charset, batch_size: int = 32, max_width: int | None = None,
                 rotate_180: bool = False):
        self.charset, self.batch_size, self.max_width, self.rotate_180 = charset, batch_size, max_width, rotate_180
        #: called with the number of lines after each batch (progress reports; may raise to cancel the call)
        self.on_batch: Callable[[int], None] | None = None

    def probs_of_batch(self, x: np.ndarray) -> np.ndarray:
        """Softmax ``[N, T, C]`` of a preprocessed batch ``[N, 3, 48, W]``."""
        raise NotImplementedError

    def predict_probs(self, images: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Per image softmax ``[T, C]`` (T depends on its batch's padded width)."""
        out: list[np.ndarray | None] = [None] * len(images)
        for idx in width_batches(images, self.batch_size):
            x = preprocess_batch([images[i] for i in idx], height=REC_HEIGHT, max_width=self.max_width)
            probs = self.probs_of_batch(x)
            for j, i in enumerate(idx):
                out[i] = probs[j]
            if self.on_batch is not None:
                self.on_batch(len(idx))
        return out  # type: ignore[return-value]

    def predict(self, images: Sequence[np.ndarray]) -> list[Decoded]:
        """Text, confidence and per-character scores of each image (BGR uint8, any size).

        With ``rotate_180`` each line is also read turned by 180° and the more confident reading is kept
        (``Decoded.angle`` 180; its ``char_frames`` then count in the turned image), at the cost of a second pass.
        """
        if self.rotate_180:
            return self.predict_both_ways(images)[1]
        return self._decode([ensure_bgr_uint8(img) for img in images]) if images else []

    def predict_both_ways(self, images: Sequence[np.ndarray]) -> tuple[list[Decoded], list[Decoded]]:
        """The upright readings of ``images`` and, per image, the more confident of the upright reading and the
        reading turned by 180° (what ``predict`` returns with ``rotate_180``): one pass each way."""
        if not images:
            return [], []
        images = [ensure_bgr_uint8(img) for img in images]
        upright = self._decode(images)
        return upright, pick_orientation(upright, self._decode([cv2.rotate(img, cv2.ROTATE_180) for img in images]))

    def _decode(self, images: Sequence[np.ndarray]) -> list[Decoded]:
        return [ctc_greedy_decode(p[None], self.charset)[0] for p in self.predict_probs(images)]
