"""The platform's tables (SQLAlchemy 2). The database is the only record of truth and the only queue; the
schema is created and upgraded by the Alembic migrations in ``semiocr/platform/migrations``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, datetime: DateTime(timezone=True)}


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime]


class Token(Base):
    """A personal access token: shown once, stored as a SHA-256 of its secret, scoped, revocable."""

    __tablename__ = "tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    prefix: Mapped[str] = mapped_column(String(16), index=True)  # first characters, to find the row
    secret_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[str] = mapped_column(String(128))  # space-separated: manage ocr
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class Run(Base):
    """A managed run: its frozen job config, resources, state and attempts."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))  # rec | det | lmssl | eval
    mode: Mapped[str | None] = mapped_column(String(16))
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    gpus: Mapped[int] = mapped_column(Integer, default=0)
    executor: Mapped[str] = mapped_column(String(16), default="local")
    state: Mapped[str] = mapped_column(String(16), index=True)
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    output_dir: Mapped[str] = mapped_column(Text)
    stop_requested: Mapped[bool] = mapped_column(default=False)
    worker: Mapped[str | None] = mapped_column(String(128))
    handle: Mapped[str | None] = mapped_column(String(128))  # pid / Ray submission id of the attempt
    exit_reason: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # best / final metrics of the last attempt
    log_offset: Mapped[int] = mapped_column(Integer, default=0)  # bytes of the event log already ingested
    created_at: Mapped[datetime]
    queued_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]


class Checkpoint(Base):
    """A checkpoint a run wrote, with the validation metrics it was saved with."""

    __tablename__ = "checkpoints"
    __table_args__ = (UniqueConstraint("run_id", "path", "step", "type"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    path: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(String(16))  # best | latest | periodic | final
    stage: Mapped[str | None] = mapped_column(String(64))
    epoch: Mapped[int] = mapped_column(Integer, default=0)
    step: Mapped[int] = mapped_column(Integer, default=0)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime]


class Mark(Base):
    """A nickname for an immutable copy of a checkpoint (unique per user)."""

    __tablename__ = "marks"
    __table_args__ = (UniqueConstraint("user_id", "nickname"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    nickname: Mapped[str] = mapped_column(String(128))
    checkpoint_id: Mapped[int | None] = mapped_column(ForeignKey("checkpoints.id"))
    source: Mapped[str] = mapped_column(Text)  # what was marked (path or checkpoint)
    stored_path: Mapped[str] = mapped_column(Text)  # the immutable copy
    sha256: Mapped[str] = mapped_column(String(64))
    arch: Mapped[str] = mapped_column(String(64))
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime]


class Dataset(Base):
    """A stored, validated, content-hashed version of a named dataset (files under ``$SEMIOCR_HOME/datasets``)."""

    __tablename__ = "datasets"
    __table_args__ = (UniqueConstraint("user_id", "name", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(80))
    path: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    num_files: Mapped[int] = mapped_column(Integer)
    num_bytes: Mapped[int] = mapped_column(BigInteger)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    num_warnings: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]


class Deployment(Base):
    """An OCR service for one user's weights: one process, its ONNX models, its address and state."""

    __tablename__ = "deployments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    det: Mapped[str] = mapped_column(Text)  # the weights names as given
    rec: Mapped[str] = mapped_column(Text)
    folder: Mapped[str] = mapped_column(Text)  # models/det.onnx, models/rec.onnx, service.log
    host: Mapped[str] = mapped_column(String(64))
    port: Mapped[int] = mapped_column(Integer)
    pid: Mapped[int | None] = mapped_column(Integer)
    machine: Mapped[str | None] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(16))  # starting | running | stopped | failed
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    stopped_at: Mapped[datetime | None]
