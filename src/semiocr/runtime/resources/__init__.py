"""Files shipped with the package (the PP-OCR default dictionary)."""

from importlib.resources import files
from pathlib import Path


def resource_path(name: str) -> Path:
    """Absolute path of a file shipped in ``semiocr/runtime/resources``."""
    return Path(str(files(__name__).joinpath(name)))


PPOCR_DEFAULT_DICT = "ppocr_keys_v1.txt"
