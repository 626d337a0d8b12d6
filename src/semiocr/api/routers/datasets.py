"""``/v1/datasets``: your stored datasets (validated, content-hashed, versioned copies)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from semiocr.api.deps import Manager
from semiocr.platform.datasets import DatasetInvalidError, DatasetStore, DatasetStoreError

router = APIRouter(prefix="/v1/datasets", tags=["datasets"])


class DatasetAdd(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="a dataset folder on the server (MSTextRecLMSSLDataset layout)")
    name: str = Field(min_length=1, max_length=64)


def _store(user) -> DatasetStore:  # noqa: ANN001 - a User row
    return DatasetStore(user=user.name)


@router.get("")
def list_datasets(user: Manager) -> list[dict[str, Any]]:
    return [vars(d) | {"ref": d.ref} for d in _store(user).list()]


@router.get("/{ref}")
def show(ref: str, user: Manager) -> dict[str, Any]:
    """``NAME`` (latest version) or ``NAME:vN``."""
    try:
        d = _store(user).get(ref)
    except DatasetStoreError as e:
        raise LookupError(str(e)) from None
    return vars(d) | {"ref": d.ref}


@router.post("", status_code=201)
def add(body: DatasetAdd, user: Manager) -> dict[str, Any]:
    """Validate and store a folder (a new version when its content changed; identical content: no new version)."""
    try:
        res = _store(user).add(body.path, body.name)
    except DatasetInvalidError as e:
        errors = [f"{i.where}: {i.message}" for i in e.report.errors[:20]]
        raise ValueError(f"{e}: " + "; ".join(errors)) from None
    except DatasetStoreError as e:
        raise ValueError(str(e)) from None
    return vars(res.dataset) | {"ref": res.dataset.ref, "created": res.created}


@router.delete("/{ref}")
def remove(ref: str, user: Manager) -> list[str]:
    """Remove ``NAME`` (every version) or ``NAME:vN``; a version a run uses is kept (409)."""
    try:
        return [d.ref for d in _store(user).remove(ref)]
    except DatasetStoreError as e:
        if "no dataset" in str(e) or "no version" in str(e):
            raise LookupError(str(e)) from None
        raise ValueError(str(e)) from None
