"""PP-OCRv4 server detector: PP-HGNet-small (det strides) + LKPAN (256) + DB head (k = 50).

Follows PaddleOCR's PP-OCRv4 server det structure (``PPHGNet_small(det=True)``, ``LKPAN`` ``mode="large"``
with 256 channels, DB head with ``k=50``); two simplifications: LKPAN's ``intracl`` blocks are not built and
the head is the plain DB head of ``det_head`` (PaddleOCR's ``PFHeadLocal`` adds a local refinement branch).
No pretrained weights exist offline for it, so it starts from random init.

Input ``[N, 3, H, W]`` with H and W multiples of 32, normalised as in ``semiocr.runtime.det_preprocess``; output
in eval mode: probability map ``[N, 1, H, W]``; train mode: the ``[N, 3, H, W]`` maps ``DBLoss`` expects.
"""

from __future__ import annotations

from semiocr.core.models.det_head import DBDetector, DBHead
from semiocr.core.models.det_lkpan import LKPAN
from semiocr.core.models.hgnet import HGNET_SMALL_DET, PPHGNet, StageSpec
from semiocr.core.models.registry import register_model

# Toy widths (same strides and block layout as HGNET_SMALL_DET) for tests.
_TINY_STEM = (8, 8, 16)
_TINY_STAGES: tuple[StageSpec, ...] = (
    (16, 8, 24, 1, False, (2, 2)),
    (24, 8, 32, 1, True, (2, 2)),
    (32, 8, 40, 2, True, (2, 2)),
    (40, 8, 48, 1, True, (2, 2)),
)


class PPOCRv4ServerDet(DBDetector):
    """PP-HGNet (det) → LKPAN → DB head (see ``DBHead`` for train-mode outputs)."""

    def __init__(self, stem: tuple[int, ...] | None = None, stages: tuple[StageSpec, ...] | None = None,
                 layer_num: int | None = None, neck_channels: int = 256, k: float = 50.0,
                 with_threshold: bool = True):
        super().__init__()
        self.backbone = PPHGNet(stem or HGNET_SMALL_DET["stem"], stages or HGNET_SMALL_DET["stages"],  # type: ignore[arg-type]
                                int(layer_num or HGNET_SMALL_DET["layer_num"]), det=True)  # type: ignore[call-overload]
        self.neck = LKPAN(self.backbone.out_channels, neck_channels)  # type: ignore[arg-type]
        self.head = DBHead(neck_channels, k=k, with_threshold=with_threshold)


@register_model("PP-OCRv4-server-det")
def pp_ocrv4_server_det(**kwargs) -> PPOCRv4ServerDet:
    """PP-OCRv4 server text detection (DB), random init."""
    return PPOCRv4ServerDet(**kwargs)


@register_model("PP-OCRv4-server-det-tiny")
def pp_ocrv4_server_det_tiny(**kwargs) -> PPOCRv4ServerDet:
    """The same code at toy width, for tests (random init)."""
    kwargs = {"stem": _TINY_STEM, "stages": _TINY_STAGES, "layer_num": 2, "neck_channels": 32, **kwargs}
    return PPOCRv4ServerDet(**kwargs)
