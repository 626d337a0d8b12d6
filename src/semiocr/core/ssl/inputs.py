"""Everything an LMSSL run reads, checked before any training starts (bad input → one clear error)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from semiocr.core.data.labels import (
    DICT_FILE,
    TRAIN_FILE,
    VAL_FILE,
    DatasetError,
    Sample,
    read_labelled,
    read_unlabelled,
)
from semiocr.core.models.registry import list_models
from semiocr.core.ssl.config import LmsslConfig, ModelCfg
from semiocr.core.weights.load import load_teacher_model
from semiocr.core.weights.resolve import resolve_weights
from semiocr.runtime.charset import Charset


@dataclass
class RunInputs:
    """The validated dataset of a run."""

    root: Path
    charset: Charset
    labelled: list[Sample]
    val: list[Sample]
    unlabelled: list[Sample]


def _require_files(samples: list[Sample], what: str) -> None:
    missing = [s for s in samples if not s.path.is_file()]
    if missing:
        first = "; ".join(f"{s.source}: {s.path}" for s in missing[:3])
        raise DatasetError(f"{len(missing)} of {len(samples)} {what} images do not exist (first: {first})")


def _require_encodable(samples: list[Sample], charset: Charset) -> None:
    for s in samples:
        missing = charset.missing(s.text or "")
        if missing:
            raise DatasetError(f"{s.source}: label {s.text!r} has characters missing from {DICT_FILE}: {missing}")


def _require_model(m: ModelCfg, role: str) -> None:
    known = list_models()
    if m.arch not in known:
        raise KeyError(f"{role} model {m.arch!r} is not registered; known: {', '.join(known) or '(none)'}")
    if m.pretrained is not None:
        resolve_weights(m.pretrained)  # raises CheckpointError naming what was looked for


def check_inputs(cfg: LmsslConfig) -> RunInputs:
    """Read and validate the dataset, models and teacher weights that ``cfg.mode`` needs."""
    root = Path(cfg.data.root)
    if not root.is_dir():
        raise DatasetError(f"{root}: dataset directory does not exist")
    charset = Charset.from_file(root / DICT_FILE, use_space=cfg.data.use_space)
    labelled, val = read_labelled(root, TRAIN_FILE), read_labelled(root, VAL_FILE)
    unlabelled = read_unlabelled(root)  # every mode needs the pool: rounds and/or the student's pseudo-labels
    for samples, what in ((labelled, "labelled"), (val, "validation"), (unlabelled, "unlabelled")):
        _require_files(samples, what)
    _require_encodable(labelled + val, charset)
    if cfg.mode in ("joint", "large"):
        _require_model(cfg.teacher.model, "large")
    if cfg.mode in ("joint", "small"):
        _require_model(cfg.student.model, "small")
    if cfg.mode == "small":
        load_teacher_model(cfg.student.teacher_weights, charset)
    return RunInputs(root, charset, labelled, val, unlabelled)
