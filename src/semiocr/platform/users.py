"""Users and personal access tokens.

Passwords are hashed with Argon2. A token is ``sot_<prefix>_<secret>``: shown once at creation, stored as the
SHA-256 of the whole token (the secret is 256 random bits, so a fast hash is enough), found by its prefix,
compared in constant time, scoped (``manage``: the management API; ``ocr``: OCR services) and revocable.
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from semiocr.platform.db import utcnow
from semiocr.platform.tables import Token, User

SCOPES = ("manage", "ocr")
USER_ENV = "SEMIOCR_USER"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_hasher = PasswordHasher()


class AuthError(PermissionError):
    """Missing, unknown, revoked or under-scoped credentials (the message never contains a secret)."""


@dataclass(frozen=True)
class NewToken:
    """A token just created: ``secret`` is shown once and never stored."""

    id: int
    name: str
    scopes: tuple[str, ...]
    secret: str


def get_or_create_user(s: Session, name: str) -> User:
    """The user called ``name``, created (without a password) on first use."""
    if not NAME_RE.match(name):
        raise ValueError(f"user name {name!r}: letters, digits, '.', '_' and '-' only (at most 64)")
    user = s.scalar(select(User).where(User.name == name))
    if user is None:
        user = User(name=name, created_at=utcnow())
        s.add(user)
        s.flush()
    return user


def local_user(s: Session) -> User:
    """The user of a local command: ``$SEMIOCR_USER``, else the operating-system account name."""
    return get_or_create_user(s, os.environ.get(USER_ENV, "").strip() or getpass.getuser())


def set_password(s: Session, user: User, password: str) -> None:
    if len(password) < 8:
        raise ValueError("password: at least 8 characters")
    user.password_hash = _hasher.hash(password)


def check_password(user: User, password: str) -> bool:
    if not user.password_hash:
        return False
    try:
        return _hasher.verify(user.password_hash, password)
    except VerificationError:
        return False


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(s: Session, user: User, name: str, scopes: tuple[str, ...] = SCOPES) -> NewToken:
    """A new token for ``user``; the returned ``secret`` is the only copy."""
    if not 1 <= len(name) <= 64:
        raise ValueError(f"token name {name!r}: 1 to 64 characters")
    bad = sorted(set(scopes) - set(SCOPES))
    if bad or not scopes:
        raise ValueError(f"token scopes {list(scopes)}: choose from {', '.join(SCOPES)}")
    prefix = secrets.token_hex(4)
    secret = f"sot_{prefix}_{secrets.token_urlsafe(32)}"
    row = Token(user_id=user.id, name=name, prefix=prefix, secret_hash=_digest(secret), scopes=" ".join(scopes),
                created_at=utcnow())
    s.add(row)
    s.flush()
    return NewToken(row.id, name, tuple(scopes), secret)


def authenticate(s: Session, token: str | None, scope: str) -> User:
    """The user of ``token`` if it is valid, not revoked and has ``scope``; ``AuthError`` otherwise."""
    if not token:
        raise AuthError("missing access token")
    parts = token.split("_")
    if len(parts) < 3 or parts[0] != "sot":
        raise AuthError("malformed access token")
    digest = _digest(token)
    for row in s.scalars(select(Token).where(Token.prefix == parts[1])):
        if hmac.compare_digest(row.secret_hash, digest):
            if row.revoked_at is not None:
                raise AuthError("access token revoked")
            if scope not in row.scopes.split():
                raise AuthError(f"access token lacks the {scope!r} scope")
            row.last_used_at = utcnow()
            return s.get(User, row.user_id)
    raise AuthError("unknown access token")


def list_tokens(s: Session, user: User) -> list[Token]:
    return list(s.scalars(select(Token).where(Token.user_id == user.id).order_by(Token.id)))


def revoke_token(s: Session, user: User, token_id: int) -> Token:
    row = s.get(Token, token_id)
    if row is None or row.user_id != user.id:
        raise LookupError(f"token {token_id} not found")
    row.revoked_at = row.revoked_at or utcnow()
    return row
