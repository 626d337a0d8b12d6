"""Platform fixtures: a fresh workspace and database per test. The database is SQLite, or a fresh database on the
PostgreSQL server named by ``SEMIOCR_TEST_POSTGRES_URL`` (``postgresql+psycopg://user@host/postgres``; CI sets
it), so the same tests run against both."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from semiocr.platform.settings import DATABASE_URL_ENV

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
