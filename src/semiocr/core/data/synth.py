"""Synthetic text lines and small pages in the MSTextRecLMSSLDataset layout (for ``make demo`` and tests).

Text is rendered with the TrueType fonts shipped inside matplotlib's package (DejaVu, STIX), then degraded
the way photographed text is: textured, uneven background, varying contrast (sometimes light on dark),
perspective, blur, sensor noise and JPEG compression. Everything is drawn from one ``numpy`` generator, so
a seed gives byte-identical output.
"""

from __future__ import annotations

import json
import string
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from semiocr.core.events import check_stop, never

DEFAULT_ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase + "-.:/"
FONT_FILES = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerif.ttf", "DejaVuSansMono.ttf",
              "DejaVuSans-Oblique.ttf", "DejaVuSerif-Bold.ttf", "STIXGeneral.ttf", "STIXGeneralBol.ttf")


@dataclass(frozen=True)
class SynthConfig:
    """Sizes of the generated dataset; ``pages_*`` > 0 also writes detection pages and ``det_*.txt``."""

    n_train: int = 200
    n_val: int = 50
    n_test: int = 50
    n_unlabeled: int = 400
    pages_train: int = 0
    pages_val: int = 0
    alphabet: str = DEFAULT_ALPHABET
    min_len: int = 2
    max_len: int = 10
    space_prob: float = 0.25  # probability that a line holds two words separated by a space
    seed: int = 0


def font_dir() -> Path:
    """The directory of TrueType fonts shipped with matplotlib (a registry package we depend on)."""
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


@lru_cache(maxsize=64)
def _font(name: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(font_dir() / name), size)


def font_names() -> list[str]:
    """Fonts the generator uses (those of ``FONT_FILES`` present in this matplotlib install)."""
    names = [f for f in FONT_FILES if (font_dir() / f).is_file()]
    if not names:
        raise FileNotFoundError(f"no TrueType fonts found in {font_dir()}")
    return names


def random_text(rng: np.random.Generator, cfg: SynthConfig) -> str:
    """A random label: letters/digits/punctuation of ``cfg.alphabet``, sometimes two words."""
    alpha = [c for c in cfg.alphabet if c != " "]

    def word(lo: int, hi: int) -> str:
        return "".join(rng.choice(alpha, size=int(rng.integers(lo, hi + 1))).tolist())

    if cfg.max_len >= 5 and rng.random() < cfg.space_prob:
        first = word(1, max(1, cfg.max_len // 2 - 1))
        return first + " " + word(1, max(1, cfg.max_len - len(first) - 1))
    return word(cfg.min_len, cfg.max_len)


def _background(rng: np.random.Generator, h: int, w: int) -> tuple[np.ndarray, bool]:
    """Textured, unevenly lit background (float32 gray-ish BGR) and whether the text is dark on light."""
    dark_text = rng.random() < 0.85
    base = rng.uniform(170, 250) if dark_text else rng.uniform(10, 90)
    tint = rng.uniform(-20, 20, size=3)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    gradient = rng.uniform(-25, 25) * xx / max(w, 1) + rng.uniform(-15, 15) * yy / max(h, 1)
    texture = cv2.GaussianBlur(rng.normal(0, rng.uniform(4, 14), size=(h, w)).astype(np.float32), (0, 0),
                               float(rng.uniform(0.8, 3.0)))
    img = base + gradient + texture
    return np.clip(img[:, :, None] + tint[None, None, :], 0, 255).astype(np.float32), dark_text


def _text_color(rng: np.random.Generator, bg_mean: float, dark_text: bool) -> tuple[int, int, int]:
    contrast = rng.uniform(70, 200)
    v = max(0.0, bg_mean - contrast) if dark_text else min(255.0, bg_mean + contrast)
    return tuple(int(np.clip(v + rng.uniform(-25, 25), 0, 255)) for _ in range(3))


def _degrade(rng: np.random.Generator, img: np.ndarray) -> np.ndarray:
    """Blur (gaussian or motion), sensor noise; JPEG happens when the file is written."""
    if rng.random() < 0.7:
        img = cv2.GaussianBlur(img, (0, 0), float(rng.uniform(0.3, 1.2)))
    elif rng.random() < 0.5:
        k = int(rng.integers(3, 6))
        kernel = np.zeros((k, k), np.float32)
        kernel[k // 2, :] = 1.0 / k
        img = cv2.filter2D(img, -1, kernel)
    img = img + rng.normal(0, rng.uniform(0, 8), size=img.shape).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


def _perspective(rng: np.random.Generator, img: np.ndarray, amount: float) -> tuple[np.ndarray, np.ndarray]:
    """Random perspective warp (corners jittered by ``amount`` of the size); returns image and matrix."""
    h, w = img.shape[:2]
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    jitter = rng.uniform(-amount, amount, size=(4, 2)) * np.float32([w, h]) * np.float32([0.5, 1.0])
    dst = np.float32(src + jitter)
    m = cv2.getPerspectiveTransform(src, dst)
    out = cv2.warpPerspective(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return out, m


def render_line(text: str, rng: np.random.Generator) -> np.ndarray:
    """Render one text line as a degraded BGR uint8 image (height 32–64 px, tight-ish crop)."""
    font = _font(str(rng.choice(font_names())), int(rng.integers(22, 44)))
    left, top, right, bottom = font.getbbox(text)
    pad_x, pad_y = int(rng.integers(2, 14)), int(rng.integers(2, 10))
    w, h = right - left + 2 * pad_x, bottom - top + 2 * pad_y
    bg, dark = _background(rng, h, w)
    pil = Image.fromarray(bg.astype(np.uint8))
    ImageDraw.Draw(pil).text((pad_x - left, pad_y - top), text, font=font,
                             fill=_text_color(rng, float(bg.mean()), dark))
    img = np.asarray(pil).astype(np.float32)
    img, _ = _perspective(rng, img, float(rng.uniform(0.0, 0.08)))
    return _degrade(rng, img)


def _write_jpeg(path: Path, img: np.ndarray, rng: np.random.Generator) -> None:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(35, 96))])
    if not ok:
        raise OSError(f"could not encode {path}")
    path.write_bytes(buf.tobytes())


def render_page(rng: np.random.Generator, cfg: SynthConfig) -> tuple[np.ndarray, list[dict]]:
    """A small page (about 480x360 to 640x480) with 2–7 text lines; returns image and Label.txt regions.

    Some pages get a tiny, illegible line labelled ``###`` (don't care), as in ICDAR/PaddleOCR data.
    """
    w, h = int(rng.integers(480, 641)), int(rng.integers(360, 481))
    bg, dark = _background(rng, h, w)
    pil = Image.fromarray(bg.astype(np.uint8))
    draw = ImageDraw.Draw(pil)
    regions, y = [], int(rng.integers(10, 40))
    while y < h - 40 and len(regions) < 7:
        tiny = rng.random() < 0.15
        font = _font(str(rng.choice(font_names())), int(rng.integers(7, 10)) if tiny else int(rng.integers(18, 36)))
        text = random_text(rng, cfg)
        left, top, right, bottom = font.getbbox(text)
        x = int(rng.integers(8, max(9, w - (right - left) - 8)))
        if x + right - left > w - 4:
            break
        draw.text((x - left, y - top), text, font=font, fill=_text_color(rng, float(bg.mean()), dark))
        quad = [[x - 2, y - 2], [x + right - left + 2, y - 2], [x + right - left + 2, y + bottom - top + 2],
                [x - 2, y + bottom - top + 2]]
        regions.append({"transcription": "###" if tiny else text, "points": quad})
        y += bottom - top + int(rng.integers(12, 45))
    img, m = _perspective(rng, np.asarray(pil).astype(np.float32), float(rng.uniform(0.0, 0.05)))
    for reg in regions:
        pts = cv2.perspectiveTransform(np.float32(reg["points"])[None], m)[0]
        pts = np.clip(pts, 0, [w - 1, h - 1])
        reg["points"] = [[round(float(px), 1), round(float(py), 1)] for px, py in pts]
    return _degrade(rng, img), regions


def _write_lines(root: Path, rng: np.random.Generator, cfg: SynthConfig, prefix: str, n: int,
                 should_stop: Callable[[], bool] = never) -> list[str]:
    """Render ``n`` lines into ``images/lines/``; returns ``rel<TAB>text`` rows."""
    rows = []
    for i in range(n):
        if i % 100 == 0:
            check_stop(should_stop)
        text = random_text(rng, cfg)
        rel = f"images/lines/{prefix}_{i:05d}.jpg"
        _write_jpeg(root / rel, render_line(text, rng), rng)
        rows.append(f"{rel}\t{text}")
    return rows


def _write_pages(root: Path, rng: np.random.Generator, cfg: SynthConfig, prefix: str, n: int) -> list[str]:
    rows = []
    for i in range(n):
        img, regions = render_page(rng, cfg)
        rel = f"images/pages/{prefix}_{i:04d}.jpg"
        _write_jpeg(root / rel, img, rng)
        rows.append(f"{rel}\t{json.dumps(regions, ensure_ascii=False)}")
    return rows


def _write_rows(path: Path, rows: list[str]) -> None:
    path.write_text("".join(r + "\n" for r in rows), encoding="utf-8")


def generate_dataset(out: str | Path, cfg: SynthConfig | None = None, should_stop: Callable[[], bool] = never
                     ) -> Path:
    """Write a synthetic MSTextRecLMSSLDataset to ``out`` (must not exist or be empty); returns ``out``.

    Files: ``train.txt``, ``val.txt``, ``test.txt``, ``train_unlabeled.txt``, ``unlabeled_truth.txt``
    (true labels of the pool, for measuring pseudo-labels only), ``dict.txt`` (the alphabet without space;
    the space is the model's space option), and ``det_train.txt`` / ``det_val.txt`` when pages are asked for.
    ``should_stop`` is polled every 100 lines (``StopRequested``; the partial folder is the caller's to drop).
    """
    cfg = cfg or SynthConfig()
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} exists and is not empty; choose a new directory")
    (out / "images" / "lines").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(cfg.seed)
    _write_rows(out / "train.txt", _write_lines(out, rng, cfg, "train", cfg.n_train, should_stop))
    _write_rows(out / "val.txt", _write_lines(out, rng, cfg, "val", cfg.n_val, should_stop))
    _write_rows(out / "test.txt", _write_lines(out, rng, cfg, "test", cfg.n_test, should_stop))
    pool = _write_lines(out, rng, cfg, "unlabeled", cfg.n_unlabeled, should_stop)
    _write_rows(out / "train_unlabeled.txt", [r.split("\t")[0] for r in pool])
    _write_rows(out / "unlabeled_truth.txt", pool)
    _write_rows(out / "dict.txt", sorted({c for c in cfg.alphabet if c != " "}))
    if cfg.pages_train or cfg.pages_val:
        (out / "images" / "pages").mkdir(parents=True, exist_ok=True)
        _write_rows(out / "det_train.txt", _write_pages(out, rng, cfg, "det_train", cfg.pages_train))
        _write_rows(out / "det_val.txt", _write_pages(out, rng, cfg, "det_val", cfg.pages_val))
    return out
