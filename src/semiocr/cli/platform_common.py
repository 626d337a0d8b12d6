"""What the platform commands share: the local user's session, error reporting, JSON output."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from sqlalchemy.orm import Session

from semiocr.platform.db import session
from semiocr.platform.tables import User
from semiocr.platform.users import local_user

#: errors a platform command reports in one line (exit code 2) instead of a traceback
USER_ERRORS: tuple[type[BaseException], ...] = (ValueError, LookupError, PermissionError)


@contextmanager
def as_local_user() -> Iterator[tuple[Session, User]]:
    """A database session and the local user (``$SEMIOCR_USER`` or the OS account); errors exit with code 2."""
    try:
        with session() as s:
            yield s, local_user(s)
    except USER_ERRORS as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None


def echo_json(obj: Any) -> None:
    typer.echo(json.dumps(obj, indent=2, ensure_ascii=False, default=str))
