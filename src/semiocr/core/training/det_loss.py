"""DB loss (Liao et al. 2020, PaddleOCR's ``DBLoss``): a separate object, models return tensors only.

``loss = alpha * L_prob + beta * L_thresh + L_binary`` with ``alpha = 5``, ``beta = 10``:

* ``L_prob``: balanced binary cross-entropy on the probability map with online hard negative mining — all
  positive pixels plus the ``ohem_ratio`` (3) × as many hardest negatives (``main_loss="dice"`` switches to
  the dice loss that PaddleOCR's configs use);
* ``L_thresh``: masked L1 on the threshold map inside the expanded polygons;
* ``L_binary``: dice loss on the approximate binary map ``sigmoid(k (P - T))`` (``k = 50``).

Predictions are ``[N, 3, H, W]`` (probability, threshold, binary) or ``[N, 2, H, W]`` (the binary map is then
computed here from the first two).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812


@dataclass
class DBBatchTargets:
    """Batched DB targets, each ``[N, H, W]`` float32 (see ``semiocr.core.training.det_labels``)."""

    shrink_map: torch.Tensor
    shrink_mask: torch.Tensor
    thresh_map: torch.Tensor
    thresh_mask: torch.Tensor

    def to(self, device: torch.device | str) -> DBBatchTargets:
        return DBBatchTargets(*(t.to(device) for t in (self.shrink_map, self.shrink_mask, self.thresh_map,
                                                         self.thresh_mask)))


def balanced_bce(pred: torch.Tensor, gt: torch.Tensor, mask: torch.Tensor, ohem_ratio: float = 3.0,
                 eps: float = 1e-6) -> torch.Tensor:
    """BCE over positives and the ``ohem_ratio`` × as many hardest negatives, averaged over those pixels."""
    positive = gt * mask
    negative = (1 - gt) * mask
    n_pos = int(positive.sum().item())
    n_neg = min(int(negative.sum().item()), int(n_pos * ohem_ratio))
    loss = F.binary_cross_entropy(pred.clamp(eps, 1 - eps), gt, reduction="none")
    pos_loss = (loss * positive).sum()
    neg_all = (loss * negative).flatten()
    neg_loss = torch.topk(neg_all, n_neg).values.sum() if n_neg > 0 else pred.new_zeros(())
    return (pos_loss + neg_loss) / (n_pos + n_neg + eps)


def dice_loss(pred: torch.Tensor, gt: torch.Tensor, mask: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """``1 - 2 |P ∩ G| / (|P| + |G|)`` over masked pixels."""
    inter = (pred * gt * mask).sum()
    union = (pred * mask).sum() + (gt * mask).sum() + eps
    return 1 - 2.0 * inter / union


def masked_l1(pred: torch.Tensor, gt: torch.Tensor, mask: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Mean absolute error over masked pixels (0 when the mask is empty)."""
    return ((pred - gt).abs() * mask).sum() / (mask.sum() + eps)


class DBLoss(nn.Module):
    """DB loss; ``forward`` returns the total and a dict of its parts (floats) for logging."""

    def __init__(self, alpha: float = 5.0, beta: float = 10.0, ohem_ratio: float = 3.0, k: float = 50.0,
                 main_loss: str = "bce"):
        super().__init__()
        if main_loss not in ("bce", "dice"):
            raise ValueError(f"main_loss must be 'bce' or 'dice', got {main_loss!r}")
        self.alpha, self.beta, self.ohem_ratio, self.k, self.main_loss = alpha, beta, ohem_ratio, k, main_loss

    def forward(self, pred: torch.Tensor, t: DBBatchTargets) -> tuple[torch.Tensor, dict[str, float]]:
        if pred.ndim != 4 or pred.shape[1] not in (2, 3):
            raise ValueError(f"DB predictions must be [N, 2|3, H, W], got {list(pred.shape)}")
        if pred.shape[-2:] != t.shrink_map.shape[-2:]:
            raise ValueError(f"prediction size {list(pred.shape[-2:])} != target size {list(t.shrink_map.shape[-2:])}")
        prob, thresh = pred[:, 0], pred[:, 1]
        binary = pred[:, 2] if pred.shape[1] == 3 else torch.sigmoid(self.k * (prob - thresh))
        if self.main_loss == "bce":
            l_prob = balanced_bce(prob, t.shrink_map, t.shrink_mask, self.ohem_ratio)
        else:
            l_prob = dice_loss(prob, t.shrink_map, t.shrink_mask)
        l_thresh = masked_l1(thresh, t.thresh_map, t.thresh_mask)
        l_binary = dice_loss(binary, t.shrink_map, t.shrink_mask)
        total = self.alpha * l_prob + self.beta * l_thresh + l_binary
        logs = {"loss_prob": l_prob.item(), "loss_thresh": l_thresh.item(), "loss_binary": l_binary.item()}
        return total, logs
