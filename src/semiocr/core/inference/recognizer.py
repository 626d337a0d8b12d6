"""The one recognition inference path: preprocess (``runtime/rec_preprocess``) → model → softmax → greedy decode.

Used by training-time evaluation, ``semiocr eval rec``, pseudo-labelling and the service. Images are
grouped by aspect ratio so that each batch pads little.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

from semiocr.core.inference.device import resolve_device
from semiocr.core.models.surgery import head_fc
from semiocr.core.weights.checkpoint import CheckpointMeta
from semiocr.core.weights.load import load_recognizer_model
from semiocr.runtime.charset import Charset
from semiocr.runtime.ctc import Decoded, ctc_greedy_decode, pick_orientation
from semiocr.runtime.images import ensure_bgr_uint8
from semiocr.runtime.rec_preprocess import REC_HEIGHT, preprocess_batch, width_batches


class Recognizer:
    """A recognition model with its charset: ``predict(images) -> list[Decoded]``."""

    def __init__(self, model: nn.Module, charset: Charset, device: str | torch.device = "cpu",
                 batch_size: int = 32, max_width: int | None = None, meta: CheckpointMeta | None = None,
                 rotate_180: bool = False):
        if head_fc(model).out_features != charset.num_classes:
            raise ValueError(f"model head has {head_fc(model).out_features} classes, charset has "
                             f"{charset.num_classes}")
        self.model, self.charset = model, charset
        self.device = torch.device(device) if isinstance(device, str) else device
        self.batch_size, self.max_width, self.meta = batch_size, max_width, meta
        self.rotate_180 = rotate_180
        #: called with the number of lines after each batch (progress reports; may raise to cancel the call)
        self.on_batch: Callable[[int], None] | None = None

    @classmethod
    def from_weights(cls, spec: str | Path, device: str = "auto", batch_size: int = 32,
                     max_width: int | None = None, rotate_180: bool = False) -> Recognizer:
        """A recognizer from any weights name (preset, checkpoint file, run directory, marked nickname)."""
        model, charset, w = load_recognizer_model(spec)
        dev = resolve_device(device)
        return cls(model.to(dev).eval(), charset, dev, batch_size, max_width, w.meta, rotate_180)

    @torch.inference_mode()
    def predict_probs(self, images: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Per image softmax ``[T, C]`` (T depends on its batch's padded width)."""
        was_training = self.model.training
        self.model.eval()
        out: list[np.ndarray | None] = [None] * len(images)
        try:
            for idx in width_batches(images, self.batch_size):
                x = preprocess_batch([images[i] for i in idx], height=REC_HEIGHT, max_width=self.max_width)
                probs = torch.softmax(self.model(torch.from_numpy(x).to(self.device)).float(), dim=2).cpu().numpy()
                for j, i in enumerate(idx):
                    out[i] = probs[j]
                if self.on_batch is not None:
                    self.on_batch(len(idx))
        finally:
            self.model.train(was_training)
        return out  # type: ignore[return-value]

    def predict(self, images: Sequence[np.ndarray]) -> list[Decoded]:
        """Text, confidence and per-character scores of each image (BGR uint8, any size).

        With ``rotate_180`` each line is also read turned by 180° and the more confident reading is kept
        (``Decoded.angle`` 180; its ``char_frames`` then count in the turned image): what PP-OCR's 0/180° line
        classifier is for, at the cost of a second forward pass.
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
