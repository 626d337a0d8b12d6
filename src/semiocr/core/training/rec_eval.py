"""What every recognition training task shares: validation through the one inference path, and the
self-description of its checkpoints."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from semiocr.core.data.images import read_image
from semiocr.core.data.labels import Sample
from semiocr.core.eval.recognition import rec_metrics
from semiocr.core.events import check_stop, never
from semiocr.core.inference.recognizer import Recognizer
from semiocr.core.weights.checkpoint import CheckpointMeta, rec_input_spec
from semiocr.runtime.charset import Charset


class ValidationSet:
    """Validation lines whose images are read once; ``evaluate(module)`` scores a model on them."""

    CHUNK = 256  # lines read between two polls of ``should_stop``

    def __init__(self, samples: Sequence[Sample], charset: Charset, batch_size: int, max_width: int | None):
        self.samples, self.charset = list(samples), charset
        self.batch_size, self.max_width = batch_size, max_width
        self._images: list[np.ndarray] | None = None

    def evaluate(self, module: nn.Module, device: torch.device, should_stop: Callable[[], bool] = never
                 ) -> dict[str, float]:
        """Exact match (``acc``), 1 − NED and the other metrics of ``rec_metrics`` (``acc`` 0 without lines).
        ``should_stop`` is polled between chunks of lines (``StopRequested``)."""
        if not self.samples:
            return {"acc": 0.0, "norm_edit": 0.0, "n": 0}
        if self._images is None:
            self._images = [read_image(s.path, s.source) for s in self.samples]
        rec = Recognizer(module, self.charset, device, self.batch_size, self.max_width)
        texts: list[str] = []
        for start in range(0, len(self._images), self.CHUNK):
            check_stop(should_stop)
            texts += [d.text for d in rec.predict(self._images[start:start + self.CHUNK])]
        return rec_metrics(texts, [s.text or "" for s in self.samples])


def rec_checkpoint_meta(model: nn.Module, charset: Charset, task: str, data_hash: str | None, parent: str | None,
                        **extra: Any) -> CheckpointMeta:
    """The metadata of a recognizer checkpoint (the loop adds config, metrics, builder arguments)."""
    return CheckpointMeta(arch=getattr(model, "arch_name", type(model).__name__), task=task,
                          charset=charset.to_dict(), input=rec_input_spec(), dataset_hash=data_hash, parent=parent,
                          extra=dict(extra))
