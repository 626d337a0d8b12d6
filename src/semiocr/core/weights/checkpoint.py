"""The checkpoint format: self-describing, atomically written, loaded without running code.

File layout (``torch.save`` of a dict holding only tensors and plain Python types)::

    format: "semiocr.checkpoint/2"
    meta:   CheckpointMeta.to_dict(): arch, task, model_kwargs, charset, input spec (with normalisation),
            dataset_hash, parent, config, metrics, kind, epoch, step, created, versions, extra
    model:  state_dict of the inference weights (the task's ``eval_module()``, e.g. EMA)
    train:  resume state (``semiocr.core.training.resume``), absent from weights-only files

Loading uses ``torch.load(weights_only=True)``: a file crafted to run code while unpickling is refused.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import torch

from semiocr import __version__
from semiocr.runtime.charset import Charset
from semiocr.runtime.rec_preprocess import REC_HEIGHT, REC_MEAN, REC_MIN_WIDTH, REC_STD

FORMAT = "semiocr.checkpoint/2"
CHECKPOINT_DIR = "checkpoints"


class CheckpointError(ValueError):
    """A checkpoint is missing, not ours, or does not fit the model / charset it is loaded into."""


def rec_input_spec() -> dict[str, Any]:
    """The recognition input contract stored with every recognizer checkpoint (DESIGN.md §3)."""
    return {"channels": 3, "height": REC_HEIGHT, "min_width": REC_MIN_WIDTH, "color": "BGR",
            "mean": [REC_MEAN] * 3, "std": [REC_STD] * 3, "scale": 1 / 255, "layout": "NCHW"}


def det_input_spec(limit_side_len: int = 736, limit_type: str = "min") -> dict[str, Any]:
    """The detection input contract (RapidOCR 1.4.4's PP-OCRv4 detector pre-processing): BGR, mean/std 0.5,
    sides resized to multiples of 32 with the shorter (``min``) or longer (``max``) side at ``limit_side_len``."""
    return {"channels": 3, "color": "BGR", "mean": [0.5] * 3, "std": [0.5] * 3, "scale": 1 / 255,
            "layout": "NCHW", "multiple_of": 32, "limit_side_len": limit_side_len, "limit_type": limit_type}


@dataclass
class CheckpointMeta:
    """What a weights file says about itself. ``charset`` is None for detectors."""

    arch: str
    task: str = "supervised"  # supervised | teacher | student | ssl | detection | pretrained
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    charset: dict[str, Any] | None = None
    input: dict[str, Any] = field(default_factory=dict)
    dataset_hash: str | None = None
    parent: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    kind: str = "best"  # latest | best | periodic | preset
    epoch: int = 0
    step: int = 0
    created: str = ""
    versions: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # task-specific facts (e.g. pseudo-label count)
    path: str | None = None  # where it was read from (not stored)

    @property
    def is_detector(self) -> bool:
        return self.charset is None

    def charset_obj(self) -> Charset | None:
        return Charset.from_dict(self.charset) if self.charset is not None else None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("path")
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any], path: str | None = None) -> CheckpointMeta:
        known = {f.name for f in fields(cls)} - {"path"}
        unknown = sorted(set(d) - known)
        if unknown or "arch" not in d:
            raise CheckpointError(f"{path}: checkpoint metadata has unknown fields {unknown} or no arch")
        return cls(**{k: v for k, v in d.items() if k in known}, path=path)

    def stamped(self, **changes: Any) -> CheckpointMeta:
        """A copy with ``changes`` applied, creation time and versions set (what ``save`` writes)."""
        d = {**self.to_dict(), **changes}
        d.update(created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                 versions={"semiocr": __version__, "torch": str(torch.__version__)})
        return CheckpointMeta.from_dict(d)


def atomic_save(obj: Any, path: str | Path) -> Path:
    """``torch.save`` to a temp file in the same directory, fsync, then rename over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def save_checkpoint(path: str | Path, meta: CheckpointMeta, model_state: dict[str, torch.Tensor],
                    train: dict[str, Any] | None = None) -> Path:
    """Write a checkpoint atomically (``train`` = resume state, or None for weights only)."""
    blob: dict[str, Any] = {"format": FORMAT, "meta": meta.to_dict(), "model": model_state}
    if train is not None:
        blob["train"] = train
    return atomic_save(blob, path)


def read_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read checkpoint file ``path`` (weights only: no code runs); ``blob["meta"]`` is a ``CheckpointMeta``."""
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"{p}: checkpoint not found")
    try:
        blob = torch.load(p, map_location=map_location, weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unpickling failure is a bad (or unsafe) file for the user
        lines = [x.strip() for x in str(e).splitlines() if x.strip()]
        # what was refused ("Unsupported global: GLOBAL x ...", "unsupported GLOBAL x whose module y is blocked",
        # "Unsupported operand N"), not torch's advice to load the file unsafely
        why = next((x for x in lines if "unsupported" in x.lower()), lines[0] if lines else type(e).__name__)
        raise CheckpointError(f"{p}: not a readable semiocr checkpoint ({type(e).__name__}: {why})") from None
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise CheckpointError(f"{p}: not a semiocr checkpoint (expected format {FORMAT!r})")
    blob["meta"] = CheckpointMeta.from_dict(blob["meta"], str(p))
    return blob


def check_compatible(meta: CheckpointMeta, arch: str | None, charset: Charset | None) -> None:
    """Raise ``CheckpointError`` when a checkpoint's architecture or charset differs from the run's."""
    if arch is not None and meta.arch != arch:
        raise CheckpointError(f"{meta.path}: checkpoint architecture {meta.arch!r} differs from the run's {arch!r}")
    if charset is not None and meta.charset is not None and meta.charset["fingerprint"] != charset.fingerprint:
        old = meta.charset_obj()
        raise CheckpointError(f"{meta.path}: checkpoint charset ({old.num_classes} classes, "
                              f"{meta.charset['fingerprint']}) differs from the run's ({charset.num_classes} "
                              f"classes, {charset.fingerprint}); use it as `pretrained` to rebuild the CTC head")
