"""Detection augmentation keeps polygons consistent with the image."""

from __future__ import annotations

import cv2
import numpy as np

from semiocr.core.training.det_augment import DetAugConfig, augment_det, random_crop, rotate


def _page(rng: np.random.Generator) -> tuple[np.ndarray, list[np.ndarray]]:
    img = np.full((300, 400, 3), 255, np.uint8)
    polys = []
    for k in range(4):
        x, y = 20 + 30 * k, 30 + 65 * k
        poly = np.array([[x, y], [x + 200, y], [x + 200, y + 30], [x, y + 30]], np.float32)
        cv2.fillPoly(img, [poly.astype(np.int32)], (0, 0, 0))
        polys.append(poly)
    return img, polys


def _dark_share(img: np.ndarray, poly: np.ndarray) -> float:
    mask = np.zeros(img.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(poly).astype(np.int32)], 1)
    return float((img[mask > 0].max(axis=1) < 128).mean())


def test_rotation_moves_polygons_with_the_text() -> None:
    img, polys = _page(np.random.default_rng(0))
    out, rot = rotate(img, polys, 20.0)
    assert out.shape[0] > 300 and out.shape[1] > 400
    for p in rot:
        assert _dark_share(out, p) > 0.9


def test_random_crop_never_cuts_text() -> None:
    rng = np.random.default_rng(1)
    img, polys = _page(rng)
    for _ in range(20):
        out, kept, ign = random_crop(img, polys, [False] * 4, rng, DetAugConfig())
        assert len(kept) >= 1 and len(ign) == len(kept)
        for p in kept:
            assert (p >= 0).all() and (p[:, 0] <= out.shape[1]).all() and (p[:, 1] <= out.shape[0]).all()
            assert _dark_share(out, p) > 0.9


def test_augment_det_outputs_fixed_size_with_consistent_polygons() -> None:
    rng = np.random.default_rng(2)
    img, polys = _page(rng)
    cfg = DetAugConfig(size=256)
    for _ in range(10):
        out, aug, ign = augment_det(img, polys, [False, True, False, False], rng, cfg)
        assert out.shape == (256, 256, 3) and len(aug) == len(ign) >= 1
        for p in aug:
            assert _dark_share(out, p) > 0.75
