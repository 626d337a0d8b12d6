"""``TextDetector``: any DB detection ``nn.Module`` → text boxes on an image of any size or format."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn

from semiocr.core.det.postprocess import DBPostprocessConfig, boxes_from_prob, filter_boxes
from semiocr.core.det.preprocess import DetPreprocessConfig, PageTransform, prepare_page, preprocess_det


@dataclass
class DetResult:
    """Boxes ``[K, 4, 2]`` (tl, tr, br, bl) in page and original coordinates, their scores, and the page."""

    page_boxes: np.ndarray
    boxes: np.ndarray
    scores: np.ndarray
    page: np.ndarray
    transform: PageTransform


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


def config_from_meta(meta: Mapping | None, pre: DetPreprocessConfig) -> DetPreprocessConfig:
    """``pre`` updated with the detector metadata's normalisation (``normalize`` or ``normalization``: mean/std)
    and ``limit_side_len`` / ``limit_type`` where the metadata carries them."""
    if not isinstance(meta, Mapping):
        return pre
    norm = meta.get("normalize", meta.get("normalization"))
    if isinstance(norm, Mapping) and "mean" in norm and "std" in norm:
        if abs(float(norm.get("scale", 1 / 255)) - 1 / 255) > 1e-9:
            raise ValueError(f"detector metadata scale {norm['scale']} is not 1/255; unsupported normalisation")
        pre = replace(pre, mean=tuple(float(v) for v in norm["mean"]), std=tuple(float(v) for v in norm["std"]))
    if "limit_side_len" in meta:
        pre = replace(pre, limit_side_len=int(meta["limit_side_len"]))
    if "limit_type" in meta:
        pre = replace(pre, limit_type=str(meta["limit_type"]))
    return pre


class TextDetector:
    """Runs a DB model on whole images: :func:`prepare_page` → network → DB postprocess → original coordinates.

    Normalisation and side limit come from the weights' metadata (``meta``, as returned by ``load_pretrained``
    or stored in a checkpoint; else ``model.meta``) over ``pre``'s defaults (mean/std 0.5, min side 736).
    """

    def __init__(self, model: nn.Module, meta: Mapping | None = None, pre: DetPreprocessConfig | None = None,
                 post: DBPostprocessConfig | None = None, device: str | torch.device = "cpu"):
        meta = meta if meta is not None else getattr(model, "meta", None)
        self.pre = config_from_meta(meta, pre or DetPreprocessConfig())
        self.post = post or DBPostprocessConfig()
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()

    @torch.inference_mode()
    def prob_map(self, page: np.ndarray) -> np.ndarray:
        """Probability map ``[H', W']`` of a prepared page at network resolution."""
        x = torch.from_numpy(preprocess_det(page, self.pre)).to(self.device)
        return prob_from_output(self.model(x))[0].float().cpu().numpy()

    def detect_page(self, page: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Boxes ``[K, 4, 2]`` float32 and scores on a prepared page, in page pixels."""
        prob = self.prob_map(page)
        boxes, scores = boxes_from_prob(prob, page.shape[:2], self.post)
        return filter_boxes(boxes, scores, page.shape[:2])

    def __call__(self, img: np.ndarray) -> DetResult:
        """Detect text on any image (gray, BGRA, 1×1, huge: see ``preprocess`` for the size limits)."""
        page, transform = prepare_page(img, self.pre)
        page_boxes, scores = self.detect_page(page)
        return DetResult(page_boxes, transform.to_original(page_boxes), scores, page, transform)
