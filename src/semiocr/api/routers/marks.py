"""``/v1/marks``: nicknames for your checkpoints."""

from __future__ import annotations

from fastapi import APIRouter

from semiocr.api.deps import DB, Manager
from semiocr.api.schemas import MarkCreate, MarkOut
from semiocr.platform import marks

router = APIRouter(prefix="/v1/marks", tags=["marks"])


@router.get("")
def list_marks(s: DB, user: Manager) -> list[MarkOut]:
    return [MarkOut.model_validate(m) for m in marks.list_marks(s, user)]


@router.post("", status_code=201)
def create(body: MarkCreate, s: DB, user: Manager) -> MarkOut:
    return MarkOut.model_validate(marks.mark(s, user, f"#{body.checkpoint}", body.nickname))


@router.delete("/{nickname}", status_code=204)
def delete(nickname: str, s: DB, user: Manager) -> None:
    marks.unmark(s, user, nickname)
