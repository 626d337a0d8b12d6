"""``/v1/tokens`` and ``/v1/me``: your personal access tokens."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from semiocr.api.deps import DB, Manager
from semiocr.api.schemas import TokenCreate, TokenOut
from semiocr.platform import users
from semiocr.platform.tables import User

router = APIRouter(prefix="/v1", tags=["tokens"])


def _out(t, secret: str | None = None) -> TokenOut:  # noqa: ANN001 - a Token row
    return TokenOut(id=t.id, name=t.name, scopes=t.scopes.split(), created_at=t.created_at, revoked_at=t.revoked_at,
                    token=secret)


class Login(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user: str
    password: str
    token_name: str = Field("login", min_length=1, max_length=64)
    scopes: list[Literal["manage", "ocr"]] = Field(default_factory=lambda: ["manage"], min_length=1)


@router.post("/login", status_code=201)
def login(body: Login, s: DB) -> TokenOut:
    """Exchange a user's password (set with ``semiocr users password``) for a new personal access token."""
    user = s.scalar(select(User).where(User.name == body.user))
    if user is None or not users.check_password(user, body.password):
        raise HTTPException(401, "wrong user name or password")
    tok = users.create_token(s, user, body.token_name, tuple(body.scopes))
    return _out(next(t for t in users.list_tokens(s, user) if t.id == tok.id), tok.secret)


@router.get("/me")
def me(user: Manager) -> dict[str, str | int]:
    return {"id": user.id, "name": user.name}


@router.get("/tokens")
def list_tokens(s: DB, user: Manager) -> list[TokenOut]:
    return [_out(t) for t in users.list_tokens(s, user)]


@router.post("/tokens", status_code=201)
def create(body: TokenCreate, s: DB, user: Manager) -> TokenOut:
    tok = users.create_token(s, user, body.name, tuple(body.scopes))
    return _out(next(t for t in users.list_tokens(s, user) if t.id == tok.id), tok.secret)


@router.delete("/tokens/{token_id}")
def revoke(token_id: int, s: DB, user: Manager) -> TokenOut:
    return _out(users.revoke_token(s, user, token_id))
