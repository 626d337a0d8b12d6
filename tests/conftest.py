"""Fixtures for every test: no test reads or writes the user's ``~/.semiocr``, presets are converted once per
session, and torch's thread count does not leak from one test to the next."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from semiocr.core.workspace import HOME_ENV
from semiocr.platform.settings import DATABASE_URL_ENV

#: tests marked ``ray`` (the Ray executor against a local head the tests start) run only when this is ``1``; CI
#: sets it (and installs the ``ray`` extra), so a missing Ray fails there instead of being skipped
RAY_ENV = "SEMIOCR_TEST_RAY"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect the ``ray`` tests unless ``SEMIOCR_TEST_RAY=1``."""
    if os.environ.get(RAY_ENV, "").strip() == "1":
        return
    ray = [item for item in items if item.get_closest_marker("ray") is not None]
    if ray:
        config.hook.pytest_deselected(items=ray)
        items[:] = [item for item in items if item.get_closest_marker("ray") is None]


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


@pytest.fixture(autouse=True)
def _isolated_weights_resolvers() -> Iterator[None]:
    """Each test starts without registered weights-name extensions (the CLI registers marks per command)."""
    from semiocr.core.weights import resolve

    saved = dict(resolve._EXTENSIONS)
    resolve._EXTENSIONS.clear()
    yield
    resolve._EXTENSIONS.clear()
    resolve._EXTENSIONS.update(saved)


@pytest.fixture
def single_thread() -> None:
    """Torch on one thread for this test (restored after it)."""
    torch.set_num_threads(1)


# -- the platform's database: SQLite, or a fresh PostgreSQL database when SEMIOCR_TEST_POSTGRES_URL is set (CI) --
PG_ENV = "SEMIOCR_TEST_POSTGRES_URL"


def _pg_database(admin_url: str) -> tuple[str, str]:
    import sqlalchemy as sa

    name = f"semiocr_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return admin_url.rsplit("/", 1)[0] + f"/{name}", name


def _drop_pg_database(admin_url: str, name: str) -> None:
    import sqlalchemy as sa

    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def platform_db(fresh_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The database URL of this test (SQLite in its workspace, or a new PostgreSQL database)."""
    admin = os.environ.get(PG_ENV, "").strip()
    if not admin:
        url = f"sqlite:///{fresh_home / 'semiocr.db'}"
        monkeypatch.setenv(DATABASE_URL_ENV, url)
        yield url
        return
    url, name = _pg_database(admin)
    monkeypatch.setenv(DATABASE_URL_ENV, url)
    try:
        yield url
    finally:
        from semiocr.platform.db import engine

        engine(url).dispose()
        _drop_pg_database(admin, name)


@pytest.fixture
def user_env(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SEMIOCR_USER", "alice")
    return "alice"
