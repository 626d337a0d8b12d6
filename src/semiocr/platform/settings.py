"""Workspace settings: where semiocr keeps datasets, runs and weights (``SEMIOCR_HOME``, default ``~/.semiocr``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from semiocr.core.workspace import semiocr_home


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


def get_settings() -> Settings:
    """Settings from the environment (read on every call, so tests can change ``SEMIOCR_HOME``)."""
    return Settings(home=semiocr_home())
