"""Where semiocr keeps its files: ``$SEMIOCR_HOME`` (default ``~/.semiocr``), read in this one place."""

from __future__ import annotations

import os
from pathlib import Path

HOME_ENV = "SEMIOCR_HOME"


def semiocr_home() -> Path:
    """``$SEMIOCR_HOME`` if set (``~`` expanded), else ``~/.semiocr``; absolute, not created. Read on every call,
    so that tests and the demo can point it elsewhere."""
    value = os.environ.get(HOME_ENV, "").strip()
    return (Path(value).expanduser() if value else Path.home() / ".semiocr").resolve()
