"""The one recognition inference path: preprocess (``runtime/rec_preprocess``) → model → softmax → greedy decode.

Used by training-time evaluation, ``semiocr eval rec``, pseudo-labelling and the service. Images are
grouped by aspect ratio so that each batch pads little.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from semiocr.core.inference.device import resolve_device
from semiocr.core.models.surgery import head_fc
from semiocr.core.weights.checkpoint import CheckpointMeta
from semiocr.core.weights.load import load_recognizer_model
from semiocr.runtime.charset import Charset
from semiocr.runtime.recognition import LineReader


class Recognizer(LineReader):
    """A PyTorch recognition model with its charset: ``predict(images) -> list[Decoded]``."""

    def __init__(self, model: nn.Module, charset: Charset, device: str | torch.device = "cpu",
                 batch_size: int = 32, max_width: int | None = None, meta: CheckpointMeta | None = None,
                 rotate_180: bool = False):
        if head_fc(model).out_features != charset.num_classes:
            raise ValueError(f"model head has {head_fc(model).out_features} classes, charset has "
                             f"{charset.num_classes}")
        super().__init__(charset, batch_size, max_width, rotate_180)
        self.model, self.meta = model, meta
        self.device = torch.device(device) if isinstance(device, str) else device

    @classmethod
    def from_weights(cls, spec: str | Path, device: str = "auto", batch_size: int = 32,
                     max_width: int | None = None, rotate_180: bool = False) -> Recognizer:
        """A recognizer from any weights name (preset, checkpoint file, run directory, marked nickname)."""
        model, charset, w = load_recognizer_model(spec)
        dev = resolve_device(device)
        return cls(model.to(dev).eval(), charset, dev, batch_size, max_width, w.meta, rotate_180)

    @torch.inference_mode()
    def probs_of_batch(self, x: np.ndarray) -> np.ndarray:
        return torch.softmax(self.model(torch.from_numpy(x).to(self.device)).float(), dim=2).cpu().numpy()

    def predict_probs(self, images: Sequence[np.ndarray]) -> list[np.ndarray]:
        was_training = self.model.training
        self.model.eval()
        try:
            return super().predict_probs(images)
        finally:
            self.model.train(was_training)
