"""Dataset store: validated, content-hashed, versioned copies under ``$SEMIOCR_HOME/datasets/<user>/<name>/v<N>/``,
recorded in the platform database (table ``datasets``, one set of names per user).

``add`` validates the source, copies it into a temporary directory inside the store, hashes the copy, renames
it into place (atomic on one file system) and records it in the same step; a failed record removes the copy.
Adding identical content again is a no-op; changed content under the same name becomes a new version, so a
version that runs use never changes; a version that a run's config names cannot be removed. A failed add leaves
nothing behind. One lock file serialises writers of a user's store.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from semiocr.core.data.hashing import dataset_hash, list_files
from semiocr.core.data.report import DatasetReport
from semiocr.core.data.validate import CheckOptions, validate_dataset
from semiocr.platform.db import session, utcnow
from semiocr.platform.settings import get_settings
from semiocr.platform.tables import Dataset, Run
from semiocr.platform.users import get_or_create_user, local_user

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class DatasetStoreError(RuntimeError):
    """A store operation was refused (bad name, unknown dataset/version)."""


class DatasetInvalidError(DatasetStoreError):
    """The dataset failed validation; ``report`` holds every problem."""

    def __init__(self, report: DatasetReport):
        super().__init__(f"dataset {report.root} has {len(report.errors)} errors; nothing was stored")
        self.report = report


@dataclass
class DatasetVersion:
    """One stored version of a named dataset."""

    name: str
    version: int
    hash: str
    path: str  # absolute path of the stored copy
    source: str
    created: str
    num_files: int
    num_bytes: int
    counts: dict[str, int] = field(default_factory=dict)
    num_warnings: int = 0

    @property
    def ref(self) -> str:
        return f"{self.name}:v{self.version}"


@dataclass
class AddResult:
    """``created`` is False when identical content was already stored (the existing version is returned)."""

    dataset: DatasetVersion
    created: bool
    report: DatasetReport


class DatasetStore:
    """Named, versioned datasets of one user (default: the local user) in ``$SEMIOCR_HOME/datasets/<user>``."""

    def __init__(self, root: str | Path | None = None, user: str | None = None):
        with session() as s:
            u = get_or_create_user(s, user) if user is not None else local_user(s)
            self.user_id, self.user_name = u.id, u.name
        self.root = Path(root) if root is not None else get_settings().datasets_dir / self.user_name

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _rows(self, s, name: str | None = None) -> list[Dataset]:  # noqa: ANN001 - a Session
        q = select(Dataset).where(Dataset.user_id == self.user_id)
        if name is not None:
            q = q.where(Dataset.name == name)
        return list(s.scalars(q.order_by(Dataset.name, Dataset.version)))

    # -- queries -----------------------------------------------------------------------------------
    def list(self) -> list[DatasetVersion]:
        """Every stored version, by name then version."""
        with session() as s:
            return [_version(r) for r in self._rows(s)]

    def get(self, name: str, version: int | None = None) -> DatasetVersion:
        """A stored version (the latest when ``version`` is None); ``name:vN`` is accepted as ``name``."""
        name, version = _parse_ref(name, version)
        with session() as s:
            versions = self._rows(s, name)
        if not versions:
            raise DatasetStoreError(f"no dataset named {name!r} in {self.root}")
        if version is None:
            return _version(versions[-1])
        for v in versions:
            if v.version == version:
                return _version(v)
        raise DatasetStoreError(f"dataset {name!r} has no version {version} "
                                f"(versions: {', '.join(str(v.version) for v in versions)})")

    def path(self, name: str, version: int | None = None) -> Path:
        """Directory of a stored version, ready for the dataset readers."""
        return Path(self.get(name, version).path)

    def verify(self, name: str, version: int | None = None) -> bool:
        """True when the stored copy still has the recorded content hash."""
        ds = self.get(name, version)
        return dataset_hash(ds.path) == ds.hash

    # -- changes -----------------------------------------------------------------------------------
    def add(self, src: str | Path, name: str, options: CheckOptions | None = None) -> AddResult:
        """Validate ``src`` and store it as the next version of ``name`` (identical content: no-op).

        Raises ``DatasetInvalidError`` (with the report) when validation finds errors; nothing is stored.
        """
        if not NAME_RE.match(name):
            raise DatasetStoreError(f"dataset name {name!r} is invalid: use 1-64 letters, digits, '.', '_' or "
                                    "'-', starting with a letter or digit")
        src = Path(src).resolve()
        if self.root.resolve().is_relative_to(src):
            raise DatasetStoreError(f"the dataset store {self.root} is inside {src}; move the workspace "
                                    f"(SEMIOCR_HOME) out of the dataset directory")
        report = validate_dataset(src, options)
        if not report.ok:
            raise DatasetInvalidError(report)
        with self._locked():
            tmp = Path(tempfile.mkdtemp(prefix=f".add-{name}-", dir=self.root))
            try:
                num_files, num_bytes = _copy_tree(src, tmp)
                digest = dataset_hash(tmp)
                with session() as s:
                    same = next((v for v in self._rows(s, name) if v.hash == digest), None)
                    if same is not None:
                        return AddResult(_version(same), False, report)
                    entry = self._place(s, tmp, name, digest, src, num_files, num_bytes, report)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        report.write_json(self.root / name / f"v{entry.version}.report.json")
        return AddResult(entry, True, report)

    def _place(self, s, tmp: Path, name: str, digest: str, src: Path, num_files: int,  # noqa: ANN001 - Session
               num_bytes: int, report: DatasetReport) -> DatasetVersion:
        """Rename the hashed copy into ``<name>/v<N>`` and record it; undo the rename if recording fails."""
        version = max((v.version for v in self._rows(s, name)), default=0) + 1
        dest = self.root / name / f"v{version}"
        if dest.exists():
            raise DatasetStoreError(f"{dest} exists but is not recorded in the database; move it away first")
        dest.parent.mkdir(exist_ok=True)
        os.rename(tmp, dest)
        row = Dataset(user_id=self.user_id, name=name, version=version, hash=digest, path=str(dest), source=str(src),
                      num_files=num_files, num_bytes=num_bytes, counts=dict(report.counts),
                      num_warnings=len(report.warnings), created_at=utcnow())
        try:
            s.add(row)
            s.flush()
        except BaseException:
            shutil.rmtree(dest, ignore_errors=True)
            raise
        return _version(row)

    def remove(self, name: str, version: int | None = None) -> list[DatasetVersion]:
        """Remove one version (or every version when ``version`` is None); returns what was removed. A version
        that a run of this user names in its config is kept (``DatasetStoreError`` names the run)."""
        name, version = _parse_ref(name, version)
        with self._locked(), session() as s:
            versions = self._rows(s, name)
            gone = [v for v in versions if version is None or v.version == version]
            if not gone:
                what = f"version {version} of dataset {name!r}" if version is not None else f"dataset {name!r}"
                raise DatasetStoreError(f"no {what} in {self.root}")
            for v in gone:
                if (used := _used_by(s, self.user_id, v.path)) is not None:
                    raise DatasetStoreError(f"{v.name}:v{v.version} is used by run {used}; it cannot be removed")
            out = [_version(v) for v in gone]
            for v in gone:
                s.delete(v)
            s.flush()
            for v in out:
                shutil.rmtree(v.path, ignore_errors=True)
                (self.root / name / f"v{v.version}.report.json").unlink(missing_ok=True)
            if len(gone) == len(versions):
                shutil.rmtree(self.root / name, ignore_errors=True)
        return out


def _version(r: Dataset) -> DatasetVersion:
    return DatasetVersion(name=r.name, version=r.version, hash=r.hash, path=r.path, source=r.source,
                          created=r.created_at.isoformat(timespec="seconds"), num_files=r.num_files,
                          num_bytes=r.num_bytes, counts=dict(r.counts), num_warnings=r.num_warnings)


def _used_by(s, user_id: int, path: str) -> int | None:  # noqa: ANN001 - a Session
    """The id of a run of ``user_id`` whose config names the dataset folder ``path``."""
    needle = json.dumps(path)[1:-1]
    for run in s.scalars(select(Run).where(Run.user_id == user_id)):
        if needle in json.dumps(run.config):
            return run.id
    return None


def _parse_ref(name: str, version: int | None) -> tuple[str, int | None]:
    """``name:v3`` / ``name:3`` → ``("name", 3)``; a plain name keeps ``version``."""
    if ":" in name:
        name, _, v = name.partition(":")
        try:
            version = int(v.removeprefix("v"))
        except ValueError:
            raise DatasetStoreError(f"bad dataset reference {name}:{v}; use NAME or NAME:vN") from None
    return name, version


def _copy_tree(src: Path, dst: Path) -> tuple[int, int]:
    """Copy the regular files of ``src`` (symlinks resolved, only inside ``src``); returns (files, bytes)."""
    files = list_files(src)
    total = 0
    for p in files:
        target = dst / p.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(p, target)
        total += target.stat().st_size
    return len(files), total
