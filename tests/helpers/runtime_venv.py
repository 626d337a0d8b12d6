"""A fresh virtual environment without torch for an offline package's requirements (package tests).

The venv is plain (``python -m venv``, no system site-packages: torch, semiocr and everything else of the test
interpreter are invisible). Its requirements are installed with ``pip install --no-index --find-links WHEELHOUSE``
from a wheelhouse filled once per machine by ``pip download`` (PyPI or pip's cache) and kept under
``$SEMIOCR_TEST_WHEELHOUSE`` (default ``~/.cache/semiocr-tests/wheelhouse``), one folder per requirements file
hash: the first run downloads (about 150 MB: opencv, onnxruntime, numpy, matplotlib …), later runs install offline
in about half a minute.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

WHEELHOUSE_ENV = "SEMIOCR_TEST_WHEELHOUSE"


def clean_env() -> dict[str, str]:
    """The environment for the venv's processes: no PYTHONPATH, no byte-code written into the package."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def wheelhouse(requirements: Path) -> Path:
    """The wheels of ``requirements`` (and their dependencies), downloaded once per machine."""
    text = requirements.read_bytes()
    root = Path(os.environ.get(WHEELHOUSE_ENV) or Path.home() / ".cache" / "semiocr-tests" / "wheelhouse")
    folder = root / hashlib.sha256(text).hexdigest()[:16]
    if not (folder / ".complete").is_file():
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--only-binary=:all:", "-r", str(requirements),
                        "-d", str(folder)], check=True, timeout=1200)
        (folder / ".complete").write_text("ok\n")
    return folder


def make_runtime_venv(where: Path, requirements: Path) -> Path:
    """A new venv at ``where`` with ``requirements`` installed offline from the wheelhouse; its python."""
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True, timeout=300, env=clean_env())
    python = where / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-index", "--find-links",
                    str(wheelhouse(requirements)), "-r", str(requirements)], check=True, timeout=1200, env=clean_env())
    return python
