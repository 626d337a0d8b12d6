"""Image decoding and normalisation shared by every reader of images (torch-free).

Encoded images are opened lazily first (``Image.open`` reads the header only) and their pixel count checked
against ``max_pixels`` before any pixel is decoded, so a decompression bomb costs a few bytes of reading. JPEG is
decoded by OpenCV, as PP-OCR and RapidOCR do, so pixels match theirs exactly.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

DEFAULT_MAX_PIXELS = 64_000_000  # e.g. 8000 x 8000; a 600 dpi A4 scan is about 35 M pixels
_CV_FORMATS = {"JPEG", "PNG", "BMP", "TIFF", "WEBP", "PPM", "JPEG2000"}


class ImageDecodeError(ValueError):
    """Image data cannot be used: empty, not an image, truncated, or over the pixel limit."""


class UnknownImageFormat(ImageDecodeError):
    """Pillow does not recognise the format (OpenCV may still decode it)."""


def ensure_bgr_uint8(img: np.ndarray) -> np.ndarray:
    """Convert grayscale, BGRA (alpha composited on white) and 16-bit images to 3-channel BGR uint8."""
    if img.dtype == np.uint16:
        img = (img / 257.0).round().astype(np.uint8)
    elif img.dtype != np.uint8:
        img = np.clip(img, 0, 255).astype(np.uint8)
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    if img.ndim == 3 and img.shape[2] == 1:
        return cv2.cvtColor(img[:, :, 0], cv2.COLOR_GRAY2BGR)
    if img.ndim == 3 and img.shape[2] == 4:
        alpha = img[:, :, 3:4].astype(np.float32) / 255.0
        rgb = img[:, :, :3].astype(np.float32)
        return (rgb * alpha + 255.0 * (1.0 - alpha)).round().astype(np.uint8)
    if img.ndim == 3 and img.shape[2] == 3:
        return img
    raise ValueError(f"unsupported image shape {img.shape}")


def open_checked(source: Path | bytes, name: str, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Open lazily (no pixel decoded) and check the header's size; raises ``ImageDecodeError``."""
    if isinstance(source, bytes):
        if not source:
            raise ImageDecodeError(f"{name}: empty image data (0 bytes)")
        fp: Path | io.BytesIO = io.BytesIO(source)
    else:
        if not source.is_file():
            raise ImageDecodeError(f"{name}: image file not found")
        if source.stat().st_size == 0:
            raise ImageDecodeError(f"{name}: image file is empty (0 bytes)")
        fp = source
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(fp)
    except Image.DecompressionBombError as e:
        raise ImageDecodeError(f"{name}: image is over the limit of {max_pixels:,} pixels (possible decompression "
                         f"bomb; Pillow: {e}); not decoded") from None
    except UnidentifiedImageError:
        raise UnknownImageFormat(f"{name}: not a readable image (unknown format)") from None
    except (OSError, ValueError) as e:
        raise ImageDecodeError(f"{name}: not a readable image ({e})") from None
    w, h = img.size
    if w <= 0 or h <= 0:
        raise ImageDecodeError(f"{name}: image has zero size {w}x{h}")
    if w * h > max_pixels:
        raise ImageDecodeError(f"{name}: image is {w}x{h} = {w * h:,} pixels, over the limit of {max_pixels:,} "
                         "pixels (possible decompression bomb); not decoded")
    return img


def decode_image_bytes(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS, name: str = "<upload>",
                       allow_unknown: bool = True) -> np.ndarray:
    """Decode an encoded image (a file's bytes, an upload) as 3-channel BGR uint8; raises ``ImageError``.

    The size is checked from the header first. JPEG is decoded by OpenCV in colour with EXIF orientation applied,
    like ``cv2.imread`` in PP-OCR / RapidOCR; other formats keep their channels so that grayscale, 16-bit and
    alpha (composited on white) convert the same way everywhere (``ensure_bgr_uint8``). A truncated JPEG decodes
    as OpenCV leaves it (the missing rows grey); the dataset validator rejects such files (``read_image_info``).
    ``allow_unknown=False`` (uploads) refuses data whose format Pillow cannot identify, so that every decoded
    image had its size checked first. Raises ``ImageDecodeError``.
    """
    if not data:
        raise ImageDecodeError(f"{name}: empty image data (0 bytes)")
    fmt = None
    # over the pixel limit raises here, before decoding; a format only OpenCV knows is decoded unchecked
    try:
        fmt = open_checked(data, name, max_pixels).format
    except UnknownImageFormat:
        if not allow_unknown:
            raise
    if fmt is not None and fmt not in _CV_FORMATS and not allow_unknown:
        raise ImageDecodeError(f"{name}: {fmt} images are not accepted (use JPEG, PNG, BMP, TIFF or WebP)")
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR if fmt == "JPEG" else cv2.IMREAD_UNCHANGED)
    if img is None or img.size == 0:
        raise ImageDecodeError(f"{name}: not a readable image (no decoder recognises the data)")
    return ensure_bgr_uint8(img)
