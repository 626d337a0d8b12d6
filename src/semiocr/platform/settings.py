"""Workspace settings: where semiocr keeps datasets, runs and weights (``SEMIOCR_HOME``, default ``~/.semiocr``)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

HOME_ENV = "SEMIOCR_HOME"


@dataclass(frozen=True)
class Settings:
    """Resolved workspace locations."""

    home: Path

    @property
    def datasets_dir(self) -> Path:
        return self.home / "datasets"

    @property
    def runs_dir(self) -> Path:
        return self.home / "runs"


def semiocr_home() -> Path:
    """``$SEMIOCR_HOME`` if set (``~`` expanded), else ``~/.semiocr``; absolute, not created."""
    value = os.environ.get(HOME_ENV, "").strip()
    return (Path(value).expanduser() if value else Path.home() / ".semiocr").resolve()


def get_settings() -> Settings:
    """Settings from the environment (read on every call, so tests can change ``SEMIOCR_HOME``)."""
    return Settings(home=semiocr_home())
