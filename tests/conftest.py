"""Fixtures for every test: no test reads or writes the user's ``~/.semiocr``, presets are converted once per
session, and torch's thread count does not leak from one test to the next."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from semiocr.core.workspace import HOME_ENV


def _link_weights(home: Path, presets: Path) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    (home / "weights").symlink_to(presets, target_is_directory=True)
    return home


@pytest.fixture(scope="session")
def preset_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's converted presets (``<name>.pt``), shared by every ``SEMIOCR_HOME`` of the session: the first
    test that loads a preset converts it from the ONNX file (about a second), every later one reads the ``.pt``."""
    return tmp_path_factory.mktemp("preset_cache")


@pytest.fixture(scope="session", autouse=True)
def semiocr_home(tmp_path_factory: pytest.TempPathFactory, preset_cache: Path) -> Iterator[Path]:
    """``SEMIOCR_HOME`` for the whole session (subprocesses inherit it): a temporary directory whose ``weights/`` is
    the session's converted presets."""
    home = _link_weights(tmp_path_factory.mktemp("semiocr_home"), preset_cache)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(HOME_ENV, str(home))
        yield home


@pytest.fixture
def fresh_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, preset_cache: Path) -> Path:
    """An empty ``SEMIOCR_HOME`` for one test (its own datasets and runs), ``weights/`` still the session's
    converted presets."""
    home = _link_weights(tmp_path / "home", preset_cache)
    monkeypatch.setenv(HOME_ENV, str(home))
    return home


@pytest.fixture(autouse=True)
def _restore_torch_threads() -> Iterator[None]:
    """Tests may call ``torch.set_num_threads``; the next test gets the count back."""
    threads = torch.get_num_threads()
    yield
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


@pytest.fixture
def single_thread() -> None:
    """Torch on one thread for this test (restored after it)."""
    torch.set_num_threads(1)
