"""``TextDetector``: any DB detection ``nn.Module`` → text boxes on an image of any size or format (the torch
network behind the runtime's ``DBDetector``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
from torch import nn

from semiocr.core.inference.device import resolve_device
from semiocr.core.weights.load import load_detector_model
from semiocr.runtime.det_postprocess import DBPostprocessConfig
from semiocr.runtime.det_preprocess import DetPreprocessConfig
from semiocr.runtime.pipeline import DBDetector


def prob_from_output(out: torch.Tensor | Mapping[str, torch.Tensor] | tuple) -> torch.Tensor:
    """The probability map ``[N, H, W]`` from a DB model output: a ``[N, C, H, W]`` tensor (channel 0 is the
    probability map, as in PaddleOCR's training output ``[shrink, threshold, binary]``), a dict with ``maps``
    (PaddleOCR) or ``prob``, or a tuple whose first item is one of those."""
    if isinstance(out, tuple | list):
        out = out[0]
    if isinstance(out, Mapping):
        key = next((k for k in ("prob", "maps", "shrink") if k in out), None)
        if key is None:
            raise ValueError(f"detector output dict has no probability map (keys: {sorted(out)})")
        out = out[key]
    if not isinstance(out, torch.Tensor) or out.ndim != 4:
        raise ValueError(f"detector output must be a [N, C, H, W] tensor, got {getattr(out, 'shape', type(out))}")
    return out[:, 0]


class TextDetector(DBDetector):
    """Runs a DB model on whole images. Normalisation and side limit come from the weights' input spec
    (``input_spec``, as stored with the weights) over ``pre``'s defaults (mean/std 0.5, min side 736)."""

    def __init__(self, model: nn.Module, input_spec: Mapping | None = None, pre: DetPreprocessConfig | None = None,
                 post: DBPostprocessConfig | None = None, device: str | torch.device = "cpu"):
        super().__init__(input_spec, pre, post)
        self.device = resolve_device(device)
        self.model = model.to(self.device).eval()

    @classmethod
    def from_weights(cls, spec: str | Path, device: str = "cpu", post: DBPostprocessConfig | None = None
                     ) -> TextDetector:
        """A detector from any weights name (preset, checkpoint file, run directory, marked nickname)."""
        model, w = load_detector_model(spec)
        return cls(model, w.meta.input, post=post, device=device)

    @torch.inference_mode()
    def prob_map(self, page: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(self.network_input(page)).to(self.device)
        return prob_from_output(self.model(x))[0].float().cpu().numpy()
