"""PP-OCRv4 mobile detector: PP-LCNetV3 (scale 0.75, det) + RSE-FPN (96) + DB head.

Input ``[N, 3, H, W]`` with H and W multiples of 32, normalised as in the model's metadata
(``semiocr.runtime.det_preprocess``); output in eval mode: probability map ``[N, 1, H, W]``.
"""

from __future__ import annotations

from semiocr.core.models.det_fpn import RSEFPN
from semiocr.core.models.det_head import DBDetector, DBHead
from semiocr.core.models.lcnetv3 import PPLCNetV3
from semiocr.core.models.registry import register_model


class PPOCRv4MobileDet(DBDetector):
    """Backbone → RSE-FPN → DB head (see ``DBHead`` for train-mode outputs)."""

    def __init__(self, scale: float = 0.75, fpn_channels: int = 96, with_threshold: bool = True):
        super().__init__()
        self.backbone = PPLCNetV3(scale=scale, det=True)
        self.neck = RSEFPN(self.backbone.out_channels, fpn_channels)
        self.head = DBHead(fpn_channels, with_threshold=with_threshold)


@register_model("PP-OCRv4-mobile-det")
def pp_ocrv4_mobile_det(**kwargs) -> PPOCRv4MobileDet:
    """PP-OCRv4 mobile text detection (DB)."""
    return PPOCRv4MobileDet(**kwargs)


@register_model("PP-OCRv4-mobile-det-tiny")
def pp_ocrv4_mobile_det_tiny(**kwargs) -> PPOCRv4MobileDet:
    """The same code at toy width, for tests (random init)."""
    kwargs = {"scale": 0.25, "fpn_channels": 32, **kwargs}
    return PPOCRv4MobileDet(**kwargs)
