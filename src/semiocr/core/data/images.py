"""Safe image loading: header size checked before decoding, truncation detected, every format made BGR uint8.

One decoder (Pillow) for datasets, the service and the validator, so that "it decodes" means the same
everywhere. The pixel count is read from the header (``Image.open`` is lazy) and checked against
``max_pixels`` before any pixel is decoded, so a decompression bomb costs a few bytes of reading.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from semiocr.core.preprocess import ensure_bgr_uint8

DEFAULT_MAX_PIXELS = 64_000_000  # e.g. 8000 x 8000; a 600 dpi A4 scan is about 35 M pixels


class ImageError(ValueError):
    """An image cannot be used: missing, empty, not an image, truncated, or too large."""


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
    """Open lazily and check the header size; raises ``ImageError``."""
    if isinstance(source, bytes):
        if not source:
            raise ImageError(f"{name}: empty image data (0 bytes)")
        fp: Path | io.BytesIO = io.BytesIO(source)
    else:
        if not source.is_file():
            raise ImageError(f"{name}: image file not found")
        if source.stat().st_size == 0:
            raise ImageError(f"{name}: image file is empty (0 bytes)")
        fp = source
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(fp)
    except Image.DecompressionBombError as e:
        raise ImageError(f"{name}: image is over the limit of {max_pixels:,} pixels (possible decompression "
                         f"bomb; Pillow: {e}); not decoded") from None
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise ImageError(f"{name}: not a readable image ({e})") from None
    w, h = img.size
    if w <= 0 or h <= 0:
        raise ImageError(f"{name}: image has zero size {w}x{h}")
    if w * h > max_pixels:
        raise ImageError(f"{name}: image is {w}x{h} = {w * h:,} pixels, over the limit of {max_pixels:,} "
                         "pixels (possible decompression bomb); not decoded")
    return img


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


def read_image(path: str | Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode ``path`` safely into a 3-channel BGR uint8 array (the input of ``core.preprocess``)."""
    arr, _ = _decode(Path(path), str(path), max_pixels)
    return ensure_bgr_uint8(arr)


def decode_image_bytes(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS, name: str = "<upload>") -> np.ndarray:
    """Decode encoded image bytes (an upload) safely into BGR uint8; raises ``ImageError`` with a reason."""
    arr, _ = _decode(data, name, max_pixels)
    return ensure_bgr_uint8(arr)


def decode_image_info(data: bytes, name: str, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[np.ndarray, ImageInfo]:
    """Like ``read_image_info`` for bytes already read (the validator hashes and decodes one read)."""
    return _decode(data, name, max_pixels)
