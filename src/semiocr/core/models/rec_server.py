"""PP-OCRv4 server recognizer: PP-HGNet-small + SVTR neck + CTC head; returns logits ``[N, W/8, C]``.

Neck as in PP-OCRv4-server-rec's CTC branch: SVTR with dims 120, depth 2, hidden dims 120, kernel 1x3.
PaddleOCR trains it with an auxiliary NRTR attention head and ``use_guide`` (the CTC neck then does not
train the backbone); with CTC alone the neck must pass gradients, so ``use_guide`` is off by default.
"""

from __future__ import annotations

import torch
from torch import nn

from semiocr.core.models.heads import CTCHead
from semiocr.core.models.hgnet import HGNET_SMALL_REC, PPHGNet
from semiocr.core.models.registry import register_model
from semiocr.core.models.svtr_neck import SVTRNeck


class PPOCRv4ServerRec(nn.Module):
    """Backbone → neck → ``head.fc``. Input ``[N, 3, 48, W]`` (BGR, ``(x/255-0.5)/0.5``); output logits."""

    def __init__(self, num_classes: int, stem: tuple[int, ...] | None = None, stages: tuple | None = None,
                 layer_num: int | None = None, dims: int = 120, depth: int = 2, num_heads: int = 8,
                 use_guide: bool = False):
        super().__init__()
        stem = tuple(stem or HGNET_SMALL_REC["stem"])
        stages = tuple(tuple(s) for s in (stages or HGNET_SMALL_REC["stages"]))
        self.backbone = PPHGNet(stem, stages, int(layer_num or HGNET_SMALL_REC["layer_num"]))
        self.neck = SVTRNeck(self.backbone.out_channels, dims=dims, depth=depth, num_heads=num_heads,
                             use_guide=use_guide)
        self.head = CTCHead(dims, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.neck(self.backbone(x)))


@register_model("PP-OCRv4-server-rec")
def pp_ocrv4_server_rec(num_classes: int = 6625, **kwargs) -> PPOCRv4ServerRec:
    """PP-OCRv4 server recognition at full size (~25M parameters with the 6625-class head)."""
    return PPOCRv4ServerRec(num_classes, **kwargs)


@register_model("PP-OCRv4-server-rec-tiny")
def pp_ocrv4_server_rec_tiny(num_classes: int, **kwargs) -> PPOCRv4ServerRec:
    """The same code at toy width, for tests (random init)."""
    toy = {"stem": (8, 8, 16), "layer_num": 2, "dims": 32, "depth": 1, "num_heads": 4,
           "stages": ((16, 8, 32, 1, True, (2, 1)), (32, 8, 48, 1, True, (1, 2)), (48, 8, 64, 2, True, (2, 1)),
                      (64, 8, 64, 1, True, (2, 1)))}
    return PPOCRv4ServerRec(num_classes, **{**toy, **kwargs})
