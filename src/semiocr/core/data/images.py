"""Safe image loading: header size checked before decoding, truncation detected, every format made BGR uint8.

Every image the package reads comes through here. The pixel count is read from the header (``Image.open`` is
lazy) and checked against ``max_pixels`` before any pixel is decoded, so a decompression bomb costs a few bytes
of reading. The validator decodes with Pillow (``read_image_info``: mode, format, EXIF notes); the models'
reader ``read_image`` (and ``decode_image_bytes`` for uploads) decodes JPEG with OpenCV, as PP-OCR and RapidOCR
do, so pixels match theirs exactly.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from semiocr.core.data.labels import DatasetError
from semiocr.runtime.images import (
    DEFAULT_MAX_PIXELS,
    ImageDecodeError,
    UnknownImageFormat,
    open_checked,
)
from semiocr.runtime.images import decode_image_bytes as _decode_bytes


class ImageError(DatasetError):
    """An image cannot be used: missing, empty, not an image, truncated, or too large."""


class _UnknownFormat(ImageError):
    """Pillow does not recognise the format (OpenCV may still decode it)."""


@dataclass(frozen=True)
class ImageInfo:
    """What the decoder saw: size after EXIF rotation, Pillow mode, format, and conversion notes."""

    width: int
    height: int
    mode: str
    format: str
    notes: tuple[str, ...]  # e.g. "grayscale", "16-bit", "alpha", "exif-rotated"


def _notes(img: Image.Image, rotated: bool) -> tuple[str, ...]:
    mode, out = img.mode, []
    if mode in ("L", "LA", "1", "I", "I;16", "I;16B", "I;16L", "F"):
        out.append("grayscale")
    if mode.startswith("I;16") or mode in ("I", "F"):
        out.append("16-bit")
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in img.info):
        out.append("alpha")
    if mode == "CMYK":
        out.append("cmyk")
    if rotated:
        out.append("exif-rotated")
    return tuple(out)


def _to_array(img: Image.Image) -> np.ndarray:
    """Pillow image (any mode) → numpy in OpenCV channel order (gray, BGR or BGRA; uint8 or uint16)."""
    mode = img.mode
    if mode.startswith("I;16"):
        return np.asarray(img, dtype=np.uint16)
    if mode in ("I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        hi = 65535.0 if arr.max(initial=0) > 255 else 255.0
        return (np.clip(arr, 0, hi) * (255.0 / hi)).round().astype(np.uint8)
    if mode in ("1", "L"):
        return np.asarray(img.convert("L"))
    if mode in ("LA", "PA", "RGBA") or (mode == "P" and "transparency" in img.info):
        return np.asarray(img.convert("RGBA"))[:, :, [2, 1, 0, 3]]
    return np.asarray(img.convert("RGB"))[:, :, ::-1]


def _open(source: Path | bytes, name: str, max_pixels: int) -> Image.Image:
    """``open_checked`` with the dataset error types."""
    try:
        return open_checked(source, name, max_pixels)
    except UnknownImageFormat as e:
        raise _UnknownFormat(str(e)) from None
    except ImageDecodeError as e:
        raise ImageError(str(e)) from None


def _decode(source: Path | bytes, name: str, max_pixels: int) -> tuple[np.ndarray, ImageInfo]:
    img = _open(source, name, max_pixels)
    fmt = img.format or "?"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img.load()
            orientation = img.getexif().get(0x0112, 1)
            rotated = ImageOps.exif_transpose(img) if orientation not in (0, 1) else img
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        raise ImageError(f"{name}: image data is corrupt or truncated ({e})") from None
    info = ImageInfo(rotated.width, rotated.height, img.mode, fmt, _notes(img, rotated is not img))
    return _to_array(rotated), info


def read_image_info(path: str | Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[np.ndarray, ImageInfo]:
    """Fully decode ``path`` (raw channels: gray/BGR/BGRA, uint8/uint16) and describe it; raises ``ImageError``."""
    return _decode(Path(path), str(path), max_pixels)


def decode_image_info(data: bytes, name: str, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[np.ndarray, ImageInfo]:
    """Like ``read_image_info`` for bytes already read (the validator hashes and decodes one read)."""
    return _decode(data, name, max_pixels)


def image_size(path: str | Path) -> tuple[int, int]:
    """``(width, height)`` as displayed (EXIF rotation applied), read from the header without decoding."""
    img = _open(Path(path), str(path), DEFAULT_MAX_PIXELS)
    w, h = img.size
    return (h, w) if img.getexif().get(0x0112, 1) in (5, 6, 7, 8) else (w, h)


def read_image(path: str | Path, source: str = "", max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Read an image file for the models as 3-channel BGR uint8 (``decode_image_bytes``); raises ``ImageError``
    naming ``source`` (e.g. the label line) and the path."""
    name = f"{source}: {path}" if source else str(path)
    if not Path(path).is_file():
        raise ImageError(f"{name}: image file not found")
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise ImageError(f"{name}: cannot read image ({e.strerror or e})") from None
    return decode_image_bytes(data, max_pixels, name)


def decode_image_bytes(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS, name: str = "<upload>") -> np.ndarray:
    """``semiocr.runtime.images.decode_image_bytes`` raising ``ImageError`` (a dataset error)."""
    try:
        return _decode_bytes(data, max_pixels, name)
    except ImageDecodeError as e:
        raise ImageError(str(e)) from None
