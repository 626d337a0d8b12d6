import math

import torch

from semiocr.core.losses import CTCLoss


def test_ctc_loss_matches_hand_computed_two_frames():
    # T=2, C=2 (blank, 'a'), target 'a': paths (a,a), (a,blank), (blank,a) -> P = 1 - p(blank)^2 = 0.75
    logits = torch.zeros(1, 2, 2)  # uniform: p = 0.5 everywhere
    loss = CTCLoss()(logits, torch.tensor([1]), torch.tensor([1]))
    assert math.isclose(loss.item(), -math.log(0.75), rel_tol=1e-5)


def test_empty_target_is_all_blank_probability():
    logits = torch.zeros(1, 3, 4)
    loss = CTCLoss()(logits, torch.tensor([], dtype=torch.long), torch.tensor([0]))
    assert math.isclose(loss.item(), -3 * math.log(0.25), rel_tol=1e-5)


def test_impossible_alignment_gives_zero_not_inf_and_per_sample_reduction():
    logits = torch.randn(2, 2, 5, requires_grad=True)
    # sample 0: 'aa' needs 3 frames (a, blank, a) but T=2 -> impossible; sample 1: 'b' fine
    per = CTCLoss(reduction="none")(logits, torch.tensor([1, 1, 2]), torch.tensor([2, 1]))
    assert per.shape == (2,)
    assert per[0].item() == 0.0 and torch.isfinite(per[1]) and per[1].item() > 0
    per.sum().backward()
    assert torch.isfinite(logits.grad).all()


def test_half_precision_logits_are_computed_in_float32():
    logits = torch.randn(3, 8, 6).half()
    loss = CTCLoss()(logits, torch.tensor([1, 2, 3, 4]), torch.tensor([2, 1, 1]))
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
