"""Fixtures for model tests: text lines and pages rendered with the DejaVu fonts shipped in matplotlib."""

from __future__ import annotations

from pathlib import Path

import cv2
import matplotlib
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
FONTS = ("DejaVuSans.ttf", "DejaVuSerif.ttf", "DejaVuSansMono.ttf", "DejaVuSans-Bold.ttf")


def render_line(text: str, font: str = "DejaVuSans.ttf", size: int = 32, seed: int = 0) -> np.ndarray:
    """A BGR uint8 crop of ``text``: dark ink on a light, slightly noisy background, a little blur."""
    rng = np.random.default_rng(seed)
    pil_font = ImageFont.truetype(str(FONT_DIR / font), size)
    left, top, right, bottom = pil_font.getbbox(text)
    pad = size // 4
    bg = int(rng.integers(200, 250))
    img = Image.new("L", (right - left + 2 * pad, bottom - top + 2 * pad), color=bg)
    ImageDraw.Draw(img).text((pad - left, pad - top), text, font=pil_font, fill=int(rng.integers(0, 60)))
    arr = np.asarray(img, dtype=np.float32) + rng.normal(0, 6, (img.height, img.width))
    arr = cv2.GaussianBlur(np.clip(arr, 0, 255).astype(np.uint8), (3, 3), 0.6)
    return cv2.cvtColor(arr, cv2.COLOR_GRAY2BGR)


def render_page(lines: list[str], width: int = 480, size: int = 28) -> tuple[np.ndarray, list[tuple[int, ...]]]:
    """A white BGR page with ``lines`` of text, and each line's box ``(x0, y0, x1, y1)``."""
    pil_font = ImageFont.truetype(str(FONT_DIR / "DejaVuSans.ttf"), size)
    step = int(size * 2.2)
    img = Image.new("RGB", (width, step * len(lines) + step), color=(255, 255, 255))
    draw = ImageDraw.Draw(img)
    boxes = []
    for i, text in enumerate(lines):
        x, y = 24, step // 2 + i * step
        draw.text((x, y), text, font=pil_font, fill=(20, 20, 20))
        boxes.append(tuple(int(v) for v in draw.textbbox((x, y), text, font=pil_font)))
    return cv2.cvtColor(np.asarray(img), cv2.COLOR_RGB2BGR), boxes


@pytest.fixture(scope="session")
def weights_cache(preset_cache: Path) -> Path:
    """The session's converted presets (``tests/conftest.py``): the ``weights/`` of every test's ``SEMIOCR_HOME``,
    never the user's cache."""
    return preset_cache


@pytest.fixture(scope="session")
def line_renderer():
    """``render_line`` as a fixture (tests import nothing from conftest)."""
    return render_line


@pytest.fixture(scope="session")
def page_renderer():
    """``render_page`` as a fixture."""
    return render_page


@pytest.fixture(scope="session")
def fonts() -> tuple[str, ...]:
    return FONTS


def det_input(img: np.ndarray, meta: dict) -> tuple[np.ndarray, float, float]:
    """Test-side detector input (short side scaled to ``limit_side_len``, sides multiples of 32, metadata
    normalisation) and the resize ratios ``(ratio_h, ratio_w)``. The product's detection preprocessing lives in
    ``semiocr.runtime.det_preprocess``; parity only needs the same tensor fed to both engines."""
    h, w = img.shape[:2]
    spec = meta["input"]
    ratio = max(1.0, spec["limit_side_len"] / min(h, w))
    new_h, new_w = (max(32, int(round(v * ratio / 32)) * 32) for v in (h, w))
    resized = cv2.resize(img, (new_w, new_h)).astype(np.float32)
    x = (resized * spec["scale"] - np.float32(spec["mean"])) / np.float32(spec["std"])
    return x.transpose(2, 0, 1)[None].astype(np.float32), new_h / h, new_w / w


@pytest.fixture(scope="session")
def det_preprocessor():
    return det_input
