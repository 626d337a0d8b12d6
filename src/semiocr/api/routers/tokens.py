"""``/v1/tokens`` and ``/v1/me``: your personal access tokens."""

from __future__ import annotations

from fastapi import APIRouter

from semiocr.api.deps import DB, Manager
from semiocr.api.schemas import TokenCreate, TokenOut
from semiocr.platform import users

router = APIRouter(prefix="/v1", tags=["tokens"])


def _out(t, secret: str | None = None) -> TokenOut:  # noqa: ANN001 - a Token row
    return TokenOut(id=t.id, name=t.name, scopes=t.scopes.split(), created_at=t.created_at, revoked_at=t.revoked_at,
                    token=secret)


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
