"""Request dependencies: a database session per request and the user of the bearer token."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, HTTPException
from sqlalchemy.orm import Session

from semiocr.platform.db import session
from semiocr.platform.tables import User
from semiocr.platform.users import AuthError, authenticate


def db() -> Iterator[Session]:
    with session() as s:
        yield s


DB = Annotated[Session, Depends(db)]


def bearer(authorization: str | None) -> str | None:
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return None


def manager(s: DB, authorization: Annotated[str | None, Header()] = None) -> User:
    """The user of a token with the ``manage`` scope (401 without a valid token, 403 without the scope)."""
    try:
        user = authenticate(s, bearer(authorization), "manage")
        s.commit()  # the token's last use is recorded now: no write lock is held while the request runs
        return user
    except AuthError as e:
        status = 403 if "scope" in str(e) else 401
        raise HTTPException(status, str(e), headers={"WWW-Authenticate": "Bearer"}) from None


Manager = Annotated[User, Depends(manager)]
