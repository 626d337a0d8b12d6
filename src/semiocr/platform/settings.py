"""Workspace settings: where semiocr keeps datasets, runs and weights (``SEMIOCR_HOME``, default ``~/.semiocr``)
and which database is the record of truth (``SEMIOCR_DATABASE_URL``, default a SQLite file in the workspace)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from semiocr.core.workspace import semiocr_home

DATABASE_URL_ENV = "SEMIOCR_DATABASE_URL"


@dataclass(frozen=True)
class Settings:
    """Resolved workspace locations and the database URL."""

    home: Path
    database_url: str

    @property
    def datasets_dir(self) -> Path:
        return self.home / "datasets"

    @property
    def runs_dir(self) -> Path:
        return self.home / "runs"

    @property
    def marked_dir(self) -> Path:
        """Immutable copies of marked checkpoints (content-addressed)."""
        return self.home / "weights" / "marked"


def get_settings() -> Settings:
    """Settings from the environment (read on every call, so tests can change ``SEMIOCR_HOME``)."""
    home = semiocr_home()
    url = os.environ.get(DATABASE_URL_ENV, "").strip() or f"sqlite:///{home / 'semiocr.db'}"
    return Settings(home=home, database_url=url)
