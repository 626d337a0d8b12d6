"""PP-OCRv6 small detector: PP-LCNetV4 small (det strides) + large-kernel RSE-FPN (96) + DB head (folded BN).

Read from the graph of ``rapidocr/models/PP-OCRv6_det_small.onnx`` (``rapidocr==3.10.0``): backbone maps of 48,
96, 192 and 384 channels at strides 4..32; RSE-FPN with 96 channels whose per-level output conv is a depthwise
7x7 followed by a 1x1 (24) with residual SE; DB head 96 → 24 → 24 → 1 with BatchNorms folded into the convs.
Input ``[N, 3, H, W]`` with H and W multiples of 32; output in eval mode: probability map ``[N, 1, H, W]``.
"""

from __future__ import annotations

from semiocr.core.models.det_fpn import RSEFPN
from semiocr.core.models.det_head import DBDetector, DBHead
from semiocr.core.models.lcnetv4 import SMALL_DET, PPLCNetV4
from semiocr.core.models.registry import register_model


class PPOCRv6SmallDet(DBDetector):
    """Backbone → RSE-FPN (7x7 depthwise outputs) → DB head (see ``DBHead`` for train-mode outputs)."""

    def __init__(self, scale: float = 1.0, fpn_channels: int = 96, with_threshold: bool = True):
        super().__init__()
        self.backbone = PPLCNetV4(SMALL_DET.scaled(scale) if scale != 1.0 else SMALL_DET, det=True)
        self.neck = RSEFPN(self.backbone.out_channels, fpn_channels, dw_kernel=7)
        self.head = DBHead(fpn_channels, with_threshold=with_threshold, folded=True)


@register_model("PP-OCRv6-small-det")
def pp_ocrv6_small_det(**kwargs) -> PPOCRv6SmallDet:
    """PP-OCRv6 small text detection (DB)."""
    return PPOCRv6SmallDet(**kwargs)


@register_model("PP-OCRv6-small-det-tiny")
def pp_ocrv6_small_det_tiny(**kwargs) -> PPOCRv6SmallDet:
    """The same code at toy width, for tests (random init)."""
    kwargs = {"scale": 0.25, "fpn_channels": 32, **kwargs}
    return PPOCRv6SmallDet(**kwargs)
