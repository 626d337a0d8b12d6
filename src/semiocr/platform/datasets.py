"""Dataset store: validated, content-hashed, versioned copies under ``$SEMIOCR_HOME/datasets/<name>/v<N>/``.

``add`` validates the source, copies it into a temporary directory inside the store, hashes the copy and
renames it into place (atomic on one file system); the JSON manifest is replaced atomically too. Adding
identical content again is a no-op; changed content under the same name becomes a new version, so a
version that runs use never changes. A failed add leaves nothing behind. One lock file serialises writers.
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
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from semiocr.core.data.hashing import dataset_hash, list_files
from semiocr.core.data.report import DatasetReport
from semiocr.core.data.validate import CheckOptions, validate_dataset
from semiocr.platform.settings import get_settings

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MANIFEST = "manifest.json"


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
    """Named, versioned datasets in a workspace directory (default ``$SEMIOCR_HOME/datasets``)."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root is not None else get_settings().datasets_dir

    # -- manifest ----------------------------------------------------------------------------------
    def _read(self) -> dict[str, list[dict]]:
        path = self.root / MANIFEST
        if not path.is_file():
            return {}
        try:
            return json.loads(path.read_text(encoding="utf-8"))["datasets"]
        except (json.JSONDecodeError, KeyError) as e:
            raise DatasetStoreError(f"{path}: dataset manifest is corrupt ({e}); fix or restore it") from None

    def _write(self, data: dict[str, list[dict]]) -> None:
        fd, tmp = tempfile.mkstemp(prefix=".manifest-", dir=self.root)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"format": 1, "datasets": data}, f, ensure_ascii=False, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.root / MANIFEST)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    # -- queries -----------------------------------------------------------------------------------
    def list(self) -> list[DatasetVersion]:
        """Every stored version, by name then version."""
        return [DatasetVersion(**v) for name, vs in sorted(self._read().items()) for v in vs]

    def get(self, name: str, version: int | None = None) -> DatasetVersion:
        """A stored version (the latest when ``version`` is None); ``name:vN`` is accepted as ``name``."""
        name, version = _parse_ref(name, version)
        versions = self._read().get(name)
        if not versions:
            raise DatasetStoreError(f"no dataset named {name!r} in {self.root}")
        if version is None:
            return DatasetVersion(**versions[-1])
        for v in versions:
            if v["version"] == version:
                return DatasetVersion(**v)
        raise DatasetStoreError(f"dataset {name!r} has no version {version} "
                                f"(versions: {', '.join(str(v['version']) for v in versions)})")

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
            data = self._read()
            tmp = Path(tempfile.mkdtemp(prefix=f".add-{name}-", dir=self.root))
            try:
                num_files, num_bytes = _copy_tree(src, tmp)
                digest = dataset_hash(tmp)
                same = next((v for v in data.get(name, []) if v["hash"] == digest), None)
                if same is not None:
                    return AddResult(DatasetVersion(**same), False, report)
                entry = self._place(tmp, name, data, digest, src, num_files, num_bytes, report)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        report.write_json(self.root / name / f"v{entry.version}.report.json")
        return AddResult(entry, True, report)

    def _place(self, tmp: Path, name: str, data: dict, digest: str, src: Path, num_files: int, num_bytes: int,
               report: DatasetReport) -> DatasetVersion:
        """Rename the hashed copy into ``<name>/v<N>`` and record it; undo the rename if the manifest fails."""
        version = max((v["version"] for v in data.get(name, [])), default=0) + 1
        dest = self.root / name / f"v{version}"
        if dest.exists():
            raise DatasetStoreError(f"{dest} exists but is not in the manifest; move it away first")
        dest.parent.mkdir(exist_ok=True)
        os.rename(tmp, dest)
        entry = DatasetVersion(name=name, version=version, hash=digest, path=str(dest), source=str(src),
                               created=datetime.now(UTC).isoformat(timespec="seconds"), num_files=num_files,
                               num_bytes=num_bytes, counts=dict(report.counts), num_warnings=len(report.warnings))
        try:
            self._write({**data, name: [*data.get(name, []), asdict(entry)]})
        except BaseException:
            shutil.rmtree(dest, ignore_errors=True)
            raise
        return entry

    def remove(self, name: str, version: int | None = None) -> list[DatasetVersion]:
        """Remove one version (or every version when ``version`` is None); returns what was removed."""
        name, version = _parse_ref(name, version)
        with self._locked():
            data = self._read()
            versions = data.get(name, [])
            gone = [v for v in versions if version is None or v["version"] == version]
            if not gone:
                what = f"version {version} of dataset {name!r}" if version is not None else f"dataset {name!r}"
                raise DatasetStoreError(f"no {what} in {self.root}")
            keep = [v for v in versions if v not in gone]
            self._write({k: v for k, v in data.items() if k != name} | ({name: keep} if keep else {}))
            for v in gone:
                shutil.rmtree(v["path"], ignore_errors=True)
                (self.root / name / f"v{v['version']}.report.json").unlink(missing_ok=True)
            if not keep:
                shutil.rmtree(self.root / name, ignore_errors=True)
        return [DatasetVersion(**v) for v in gone]


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
