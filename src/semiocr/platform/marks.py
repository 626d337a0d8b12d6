"""Marked weights: a nickname (unique per user) for an immutable, content-addressed copy of a checkpoint, so
that later runs, evaluations and deployments can name it. The platform registers the nicknames with the core
weights resolver (``register_marks_resolver``), so every weights argument accepts them."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from semiocr.core.data.hashing import file_sha256
from semiocr.core.weights.checkpoint import CheckpointError, read_checkpoint
from semiocr.core.weights.resolve import is_preset, register_resolver, resolve_weights
from semiocr.platform.db import session, utcnow
from semiocr.platform.settings import get_settings
from semiocr.platform.tables import Checkpoint, Mark, User
from semiocr.platform.users import local_user

NICK_RE = re.compile(r"^[^\s/\\][^/\\]{0,127}$")


class MarkError(ValueError):
    """A mark could not be made (the message says why)."""


class MarkNotFound(MarkError, LookupError):
    """No such mark or checkpoint for this user."""




def _source_path(s: Session, user: User, ckpt: str) -> tuple[Path, Checkpoint | None]:
    """A checkpoint id of one of the user's runs (``#12`` or ``12``), or any weights name the resolver accepts."""
    if re.fullmatch(r"#?\d+", ckpt) and not Path(ckpt).exists():
        row = s.get(Checkpoint, int(ckpt.lstrip("#")))
        if row is None or row.user_id != user.id:
            raise MarkNotFound(f"checkpoint {ckpt} not found")
        return Path(row.path), row
    ref = resolve_weights(ckpt)
    if ref.path is None:
        raise MarkError(f"{ckpt}: a preset needs no mark; use its name")
    return ref.path, None


def mark(s: Session, user: User, ckpt: str, nickname: str) -> Mark:
    """Copy the checkpoint ``ckpt`` into the marked store (by content) and name it ``nickname``."""
    if not NICK_RE.match(nickname) or nickname != nickname.strip():
        raise MarkError(f"nickname {nickname!r}: 1-128 characters, no slashes, no surrounding spaces")
    if is_preset(nickname) or Path(nickname).exists():
        raise MarkError(f"nickname {nickname!r} would shadow a preset or a path; choose another")
    if s.scalar(select(Mark).where(Mark.user_id == user.id, Mark.nickname == nickname)) is not None:
        raise MarkError(f"nickname {nickname!r} is already used; unmark it first")
    path, row = _source_path(s, user, ckpt)
    meta = read_checkpoint(path)["meta"]  # refuses files that are not safe semiocr checkpoints
    if row is not None and (meta.step, meta.epoch) != (row.step, row.epoch):
        raise MarkError(f"checkpoint {row.id} ({path}) was overwritten since (now step {meta.step}); mark a "
                        f"checkpoint of the step you want, or the file as it is now by its path")
    digest = file_sha256(path)
    stored = get_settings().marked_dir / f"{digest}.pt"
    if not stored.is_file():
        stored.parent.mkdir(parents=True, exist_ok=True)
        tmp = stored.with_suffix(".tmp")
        shutil.copyfile(path, tmp)
        tmp.replace(stored)
    m = Mark(user_id=user.id, nickname=nickname, checkpoint_id=row.id if row else None, source=str(path),
             stored_path=str(stored), sha256=digest, arch=meta.arch, metrics=dict(meta.metrics), created_at=utcnow())
    s.add(m)
    s.flush()
    return m


def unmark(s: Session, user: User, nickname: str) -> Mark:
    """Remove a nickname; the stored copy stays while another mark uses it."""
    m = s.scalar(select(Mark).where(Mark.user_id == user.id, Mark.nickname == nickname))
    if m is None:
        raise MarkNotFound(f"no mark {nickname!r}")
    s.delete(m)
    s.flush()
    if s.scalar(select(Mark).where(Mark.sha256 == m.sha256)) is None:
        Path(m.stored_path).unlink(missing_ok=True)
    return m


def list_marks(s: Session, user: User) -> list[Mark]:
    return list(s.scalars(select(Mark).where(Mark.user_id == user.id).order_by(Mark.nickname)))


def find(s: Session, user: User, nickname: str) -> Mark | None:
    return s.scalar(select(Mark).where(Mark.user_id == user.id, Mark.nickname == nickname))


def register_marks_resolver(user_name: str | None = None) -> None:
    """Let every weights argument accept the nicknames of the local user (or ``user_name``)."""

    def resolve(name: str) -> Path | None:
        try:
            with session() as s:
                user = local_user(s) if user_name is None else s.scalar(select(User).where(User.name == user_name))
                m = find(s, user, name) if user is not None else None
        except CheckpointError:
            return None
        if m is None:
            return None
        if not Path(m.stored_path).is_file():
            raise CheckpointError(f"mark {name!r}: its stored copy {m.stored_path} is missing")
        return Path(m.stored_path)

    register_resolver("marked weights", resolve)
