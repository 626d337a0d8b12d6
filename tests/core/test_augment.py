import numpy as np
import pytest
from synthetic_lines import render_line

from semiocr.core.augment import get_augment


@pytest.mark.parametrize("policy", ["weak", "strong"])
def test_augment_is_deterministic_per_generator_and_changes_the_image(policy):
    img = render_line("12345", np.random.default_rng(0))
    aug = get_augment(policy)
    outs = [aug(img, np.random.default_rng([7, i])) for i in range(8)]
    again = [aug(img, np.random.default_rng([7, i])) for i in range(8)]
    for a, b in zip(outs, again, strict=True):
        assert a.dtype == np.uint8 and a.ndim == 3 and a.shape[2] == 3 and min(a.shape[:2]) >= 4
        assert np.array_equal(a, b)
    assert sum(o.shape != img.shape or not np.array_equal(o, img) for o in outs) >= 6


def test_strong_changes_more_than_weak():
    img = render_line("0042", np.random.default_rng(1))

    def mean_change(policy):
        diffs = []
        for i in range(20):
            out = get_augment(policy)(img, np.random.default_rng(i))
            if out.shape == img.shape:
                diffs.append(np.abs(out.astype(float) - img).mean())
        return np.mean(diffs)

    assert mean_change("strong") > mean_change("weak")


def test_unknown_policy_and_none():
    assert get_augment("none") is None
    with pytest.raises(ValueError, match="weak"):
        get_augment("heavy")


def test_rotate_180_turns_the_chosen_share_of_lines_and_nothing_else():
    import cv2

    img = render_line("1234", np.random.default_rng(2))
    assert get_augment("weak", 0.0) is get_augment("weak")
    always, half = get_augment("none", 1.0), get_augment("none", 0.5)
    assert np.array_equal(always(img, np.random.default_rng(0)), cv2.rotate(img, cv2.ROTATE_180))
    outs = [half(img, np.random.default_rng(i)) for i in range(200)]
    turned = sum(np.array_equal(o, cv2.rotate(img, cv2.ROTATE_180)) for o in outs)
    assert all(np.array_equal(o, img) or np.array_equal(o, cv2.rotate(img, cv2.ROTATE_180)) for o in outs)
    assert 70 <= turned <= 130
    weak_turned = get_augment("weak", 1.0)(img, np.random.default_rng(3))  # the policy still applies, then turns
    assert weak_turned.shape[2] == 3 and not np.array_equal(weak_turned, cv2.rotate(img, cv2.ROTATE_180))
    with pytest.raises(ValueError, match="rotate_180"):
        get_augment("weak", 1.5)
