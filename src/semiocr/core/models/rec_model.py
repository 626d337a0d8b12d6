"""PP-OCRv4 mobile recognizer: PP-LCNetV3 (scale 0.95) + SVTR neck + CTC head; returns logits ``[N, W/8, C]``."""

from __future__ import annotations

import torch
from torch import nn

from semiocr.core.models.heads import CTCHead
from semiocr.core.models.lcnetv3 import PPLCNetV3
from semiocr.core.models.registry import register_model
from semiocr.core.models.svtr_neck import SVTRNeck


class PPOCRv4MobileRec(nn.Module):
    """Backbone → neck → ``head.fc``. Input ``[N, 3, 48, W]`` (BGR, ``(x/255-0.5)/0.5``); output logits."""

    def __init__(self, num_classes: int, scale: float = 0.95, dims: int = 120, depth: int = 2,
                 num_heads: int = 8, use_guide: bool = False):
        super().__init__()
        self.backbone = PPLCNetV3(scale=scale, det=False)
        self.neck = SVTRNeck(self.backbone.out_channels, dims=dims, depth=depth, num_heads=num_heads,
                             use_guide=use_guide)
        self.head = CTCHead(dims, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.neck(self.backbone(x)))


@register_model("PP-OCRv4-mobile-rec")
def pp_ocrv4_mobile_rec(num_classes: int = 6625, **kwargs) -> PPOCRv4MobileRec:
    """PP-OCRv4 mobile recognition at full size (6625 classes = PP-OCR default dict + blank + space)."""
    return PPOCRv4MobileRec(num_classes, **kwargs)


@register_model("PP-OCRv4-mobile-rec-tiny")
def pp_ocrv4_mobile_rec_tiny(num_classes: int, **kwargs) -> PPOCRv4MobileRec:
    """The same code at toy width, for tests (random init)."""
    kwargs = {"scale": 0.25, "dims": 32, "depth": 1, "num_heads": 4, **kwargs}
    return PPOCRv4MobileRec(num_classes, **kwargs)
