"""Request and response bodies of the management API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RunCreate(_Body):
    config: dict[str, Any] = Field(description="a job config with its kind (rec | det | lmssl | eval)")
    name: str | None = Field(None, max_length=128)
    gpus: int = Field(0, ge=0, le=64)
    executor: Literal["local", "ray"] = "local"
    draft: bool = False


class RunOut(BaseModel):
    id: int
    name: str
    kind: str
    mode: str | None
    state: str
    attempt: int
    gpus: int
    executor: str
    output_dir: str
    exit_reason: str | None
    result: dict[str, Any]
    stop_requested: bool
    created_at: str | None
    queued_at: str | None
    started_at: str | None
    finished_at: str | None
    config: dict[str, Any]


class CheckpointOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    run_id: int
    type: str
    stage: str | None
    epoch: int
    step: int
    path: str
    metrics: dict[str, Any]


class MarkCreate(_Body):
    checkpoint: int = Field(description="id of a checkpoint of one of your runs")
    nickname: str = Field(min_length=1, max_length=128)


class MarkOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    nickname: str
    checkpoint_id: int | None
    arch: str
    sha256: str
    metrics: dict[str, Any]
    created_at: datetime


class EvalCreate(_Body):
    weights: str = Field(description="a mark of yours, a preset, or a checkpoint file on the server")
    data_dir: str = Field(description="a dataset folder on the server")
    split: str | None = None
    task: Literal["rec", "det"] = "rec"
    rec: str | None = None
    rotate_180: bool = False


class TokenCreate(_Body):
    name: str = Field(min_length=1, max_length=64)
    scopes: list[Literal["manage", "ocr"]] = Field(default_factory=lambda: ["manage", "ocr"], min_length=1)


class TokenOut(BaseModel):
    id: int
    name: str
    scopes: list[str]
    created_at: datetime
    revoked_at: datetime | None
    token: str | None = Field(None, description="the secret: returned once, when the token is created")
