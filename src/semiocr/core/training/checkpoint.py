"""Self-describing, atomically written checkpoints; exact resume state; weights-only pretrained loading.

File layout (``torch.save`` of a dict)::

    format: "semiocr.checkpoint/1"
    meta:   arch, charset (Charset.to_dict), num_classes, input spec, dataset_hash, parent, config,
            metrics, epoch, step, kind (latest | best | periodic), created, versions
    model:  state_dict of the inference weights (the task's ``eval_module()``, e.g. EMA)
    train:  resume state: training weights (None when equal to ``model``), optimizer, scheduler, scaler,
            epoch, step, epoch_step, best, best_epoch, rng, task
"""

from __future__ import annotations

import os
import random
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from semiocr import __version__
from semiocr.core.charset import Charset
from semiocr.core.models.surgery import adapt_ctc_head, head_fc
from semiocr.core.preprocess import REC_HEIGHT, REC_MEAN, REC_MIN_WIDTH, REC_STD

FORMAT = "semiocr.checkpoint/1"
CHECKPOINT_DIR = "checkpoints"


class CheckpointError(ValueError):
    """A checkpoint is missing, not ours, or does not fit the model / charset it is loaded into."""


def rec_input_spec() -> dict[str, Any]:
    """The recognition input contract stored with every checkpoint (DESIGN.md §3)."""
    return {"channels": 3, "height": REC_HEIGHT, "min_width": REC_MIN_WIDTH, "color": "BGR",
            "mean": [REC_MEAN] * 3, "std": [REC_STD] * 3, "scale": 1 / 255, "layout": "NCHW"}


def capture_rng() -> dict[str, Any]:
    """RNG state of python, numpy and torch (CPU and CUDA)."""
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])


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


def resolve_checkpoint(path: str | Path) -> Path:
    """A checkpoint file, or a run directory (→ its ``checkpoints/latest.pt``)."""
    p = Path(path)
    if p.is_dir():
        for cand in (p / CHECKPOINT_DIR / "latest.pt", p / "latest.pt"):
            if cand.is_file():
                return cand
        raise CheckpointError(f"{p}: run directory has no {CHECKPOINT_DIR}/latest.pt")
    if not p.is_file():
        raise CheckpointError(f"{p}: checkpoint not found")
    return p


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load and sanity-check a semiocr checkpoint (file or run dir)."""
    p = resolve_checkpoint(path)
    try:
        ckpt = torch.load(p, map_location=map_location, weights_only=False)
    except Exception as e:  # noqa: BLE001 - any unpickling failure is a bad file for the user
        raise CheckpointError(f"{p}: not a readable checkpoint ({type(e).__name__}: {e})") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointError(f"{p}: not a semiocr checkpoint (expected format {FORMAT!r})")
    ckpt["meta"]["path"] = str(p)
    return ckpt


def checkpoint_charset(ckpt: dict[str, Any]) -> Charset:
    return Charset.from_dict(ckpt["meta"]["charset"])


@dataclass
class TrainState:
    """What the loop needs to continue a run exactly."""

    epoch: int  # epochs fully done
    step: int  # optimiser steps done in total
    epoch_step: int  # optimiser steps done inside the current (unfinished) epoch
    best: float | None
    best_epoch: int | None
    best_tiebreak: float | None = None  # the task's ``tiebreak_metric`` at ``best`` (if it has one)


def build_checkpoint(*, meta: dict[str, Any], model: nn.Module, eval_module: nn.Module, state: TrainState,
                     optimizer: torch.optim.Optimizer | None, scheduler: Any, scaler: Any,
                     task_state: dict[str, Any], kind: str, metrics: dict[str, float] | None,
                     config: dict[str, Any]) -> dict[str, Any]:
    """Assemble the checkpoint dict (``model`` = inference weights; ``train`` = everything for resume)."""
    meta = dict(meta)
    meta.update(kind=kind, epoch=state.epoch, step=state.step, metrics=metrics or {}, config=config,
                created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), semiocr_version=__version__,
                torch_version=torch.__version__)
    fc = getattr(getattr(eval_module, "head", None), "fc", None)
    if isinstance(fc, nn.Linear):  # recognizers; a detector has no classifier
        meta["num_classes"] = fc.out_features
    train = {
        "model": None if eval_module is model else model.state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "scaler": scaler.state_dict() if scaler is not None else None,
        "epoch": state.epoch, "step": state.step, "epoch_step": state.epoch_step,
        "best": state.best, "best_epoch": state.best_epoch, "best_tiebreak": state.best_tiebreak,
        "rng": capture_rng(), "task": task_state,
    }
    return {"format": FORMAT, "meta": meta, "model": eval_module.state_dict(), "train": train}


def check_compatible(ckpt: dict[str, Any], arch: str | None, charset: Charset | None) -> None:
    """Raise ``CheckpointError`` when a checkpoint's architecture or charset differs from the run's."""
    meta = ckpt["meta"]
    if arch is not None and meta.get("arch") != arch:
        raise CheckpointError(f"{meta.get('path')}: checkpoint architecture {meta.get('arch')!r} differs from "
                              f"the run's {arch!r}")
    if charset is not None and meta["charset"]["fingerprint"] != charset.fingerprint:
        old = checkpoint_charset(ckpt)
        raise CheckpointError(f"{meta.get('path')}: checkpoint charset ({old.num_classes} classes, "
                              f"{meta['charset']['fingerprint']}) differs from the run's ({charset.num_classes} "
                              f"classes, {charset.fingerprint}); use it as `pretrained` to rebuild the CTC head")


def _pretrained_source(path: str | Path) -> tuple[dict[str, torch.Tensor], Charset | None, str, str | None]:
    """(weights, charset (None for detectors), description, arch) of a checkpoint file / run dir or a named preset
    (``semiocr.core.models.pretrained.list_pretrained()``, e.g. ``PP-OCRv4-mobile-rec``)."""
    from semiocr.core.models import pretrained as presets

    if not Path(path).exists() and str(path) in presets.list_pretrained():
        model, charset, meta = presets.load_pretrained(str(path))
        return model.state_dict(), charset, f"preset {path} ({meta.get('source')})", meta.get("arch")
    ckpt = load_checkpoint(path)
    return ckpt["model"], checkpoint_charset(ckpt), str(ckpt["meta"]["path"]), ckpt["meta"].get("arch")


def load_pretrained(model: nn.Module, path: str | Path, charset: Charset | None) -> tuple[int | None, str]:
    """Load inference weights of a checkpoint (file or run dir) or a named preset into ``model``: weights only,
    no optimiser, no step.

    When the source charset differs from ``charset``, the CTC head is loaded at the source's size and rebuilt
    by ``adapt_ctc_head``, copying rows of shared characters. Returns (rows carried, or None when the charset
    was unchanged; a message for the run log).
    """
    weights, old, where, arch = _pretrained_source(path)
    mine = getattr(model, "arch_name", None)
    if arch and mine and arch != mine:
        raise CheckpointError(f"{where}: pretrained architecture {arch!r} differs from the run's {mine!r}")
    if old is None or charset is None or old.fingerprint == charset.fingerprint:
        _load_weights(model, weights, where)
        return None, f"pretrained weights loaded from {where}"
    fc = head_fc(model)
    model.head.fc = nn.Linear(fc.in_features, old.num_classes, bias=fc.bias is not None).to(fc.weight.device)
    _load_weights(model, weights, where)
    carried = adapt_ctc_head(model, old, charset)
    msg = (f"pretrained weights loaded from {where}; dict changed ({old.num_classes} → {charset.num_classes} classes): "
           f"CTC head rebuilt, {carried} of {charset.num_classes} rows carried over (blank included)")
    return carried, msg


def _load_weights(model: nn.Module, weights: dict[str, torch.Tensor], where: str) -> None:
    own = model.state_dict()
    bad = [f"{k}: {tuple(v.shape)} vs {tuple(own[k].shape)}" for k, v in weights.items()
           if k in own and own[k].shape != v.shape]
    if bad:
        raise CheckpointError(f"{where}: weight shapes do not fit the model: " + "; ".join(bad[:5]))
    result = model.load_state_dict(weights, strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise CheckpointError(f"{where}: weights do not fit the model (missing {result.missing_keys[:5]}, "
                              f"unexpected {result.unexpected_keys[:5]})")
