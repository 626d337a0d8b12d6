"""Resolved weights → state dict + typed metadata → models. The one place that rebuilds a model from what a
weights file says about itself (architecture, builder arguments, charset), and the one start-weights loader
(weights only; a different dict rebuilds the CTC head, keeping the rows of shared characters)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from semiocr.core.models.registry import build_model
from semiocr.core.models.surgery import adapt_ctc_head, head_fc, restrict_ctc_head
from semiocr.core.weights.checkpoint import CheckpointError, CheckpointMeta, read_checkpoint
from semiocr.core.weights.resolve import WeightsRef, resolve_weights
from semiocr.runtime.charset import Charset

#: parameters that training needs and inference weights lack (DB's threshold branch): missing is fine
TRAINING_ONLY_PREFIXES = ("head.thresh.",)


@dataclass
class LoadedWeights:
    """Inference weights, their metadata and where they came from."""

    state: dict[str, torch.Tensor]
    meta: CheckpointMeta
    ref: WeightsRef

    @functools.cached_property
    def charset(self) -> Charset | None:
        """The weights' charset (built once)."""
        return self.meta.charset_obj()

    def describe(self) -> str:
        return self.ref.describe()


def load_weights(spec: str | Path) -> LoadedWeights:
    """Resolve ``spec`` (file, run directory, preset, extension name) and read its weights and metadata."""
    ref = resolve_weights(spec)
    if ref.preset is not None:
        from semiocr.core.models.pretrained import PRESETS, preset_weights

        state, charset, info = preset_weights(ref.preset)
        extra = {k: v for k, v in info.items() if k in ("source", "source_sha256", "name")}
        meta = CheckpointMeta(arch=PRESETS[ref.preset].arch, task="pretrained",
                              charset=charset.to_dict() if charset else None, input=dict(info["input"]),
                              kind="preset", extra=extra, path=f"preset:{ref.preset}")
        return LoadedWeights(state, meta, ref)
    blob = read_checkpoint(ref.path)
    return LoadedWeights(blob["model"], blob["meta"], ref)


def _load_state(model: nn.Module, state: dict[str, torch.Tensor], where: str) -> None:
    own = model.state_dict()
    bad = [f"{k}: {tuple(v.shape)} vs {tuple(own[k].shape)}" for k, v in state.items()
           if k in own and own[k].shape != v.shape]
    if bad:
        raise CheckpointError(f"{where}: weight shapes do not fit the model: " + "; ".join(bad[:5]))
    result = model.load_state_dict(state, strict=False)
    missing = [k for k in result.missing_keys if not k.startswith(TRAINING_ONLY_PREFIXES)]
    if missing or result.unexpected_keys:
        raise CheckpointError(f"{where}: weights do not fit the model (missing {missing[:5]}, "
                              f"unexpected {result.unexpected_keys[:5]})")


def build_from_weights(w: LoadedWeights) -> nn.Module:
    """The architecture recorded in ``w`` with its weights loaded (eval mode, on CPU)."""
    kwargs = dict(w.meta.model_kwargs)
    if w.meta.charset is not None:
        kwargs["num_classes"] = w.charset.num_classes
    model = build_model(w.meta.arch, **kwargs)
    _load_state(model, w.state, w.describe())
    return model.eval()


def load_recognizer_model(spec: str | Path, charset: Charset | None = None
                          ) -> tuple[nn.Module, Charset, LoadedWeights]:
    """A recognizer from any weights name; with ``charset``, the weights must have been trained with exactly it."""
    w = load_weights(spec)
    if w.meta.is_detector:
        raise CheckpointError(f"{w.describe()}: detector weights ({w.meta.arch}), not a recognizer")
    theirs = w.charset
    if charset is not None and theirs.fingerprint != charset.fingerprint:
        raise CheckpointError(f"{w.describe()}: the weights were trained with another charset ({theirs.num_classes} "
                              f"classes, fingerprint {theirs.fingerprint}) than the dataset's ({charset.num_classes} "
                              f"classes, fingerprint {charset.fingerprint})")
    return build_from_weights(w), theirs, w


def load_teacher_model(spec: str | Path, charset: Charset) -> tuple[nn.Module, str]:
    """A recognizer that reads (teaches) in the dataset's ``charset``, and a message for the run log.

    Trained weights (files, runs, marks) must have been trained with exactly ``charset``. A pretrained preset
    (its own large dict) is a zero-shot teacher: its CTC head is restricted to ``charset`` (``restrict_ctc_head``:
    rows of shared characters kept, characters it never learnt never predicted).
    """
    w = load_weights(spec)
    theirs = w.charset
    if w.ref.preset is None or theirs is None or theirs.fingerprint == charset.fingerprint:
        return load_recognizer_model(spec, charset)[0], f"teacher: {w.describe()}"
    model = build_from_weights(w)
    carried = restrict_ctc_head(model, theirs, charset)
    return model.eval(), (f"teacher: {w.describe()}, head restricted from its {theirs.num_classes} classes to the "
                          f"dataset's {charset.num_classes} ({carried} known to it, blank included)")


def load_detector_model(spec: str | Path) -> tuple[nn.Module, LoadedWeights]:
    """A DB detector from any weights name."""
    w = load_weights(spec)
    if not w.meta.is_detector:
        raise CheckpointError(f"{w.describe()}: recognizer weights ({w.meta.arch}), not a detector")
    return build_from_weights(w), w


def load_start_weights(model: nn.Module, spec: str | Path, charset: Charset | None) -> str:
    """Load the inference weights named ``spec`` into ``model`` (weights only: no optimiser, no step); returns a
    message for the run log.

    The architectures must match. When the weights' charset differs from ``charset``, the CTC head is loaded at
    the weights' size and rebuilt by ``adapt_ctc_head``, copying the rows of shared characters.
    """
    w = load_weights(spec)
    mine = getattr(model, "arch_name", None)
    if mine and w.meta.arch != mine:
        raise CheckpointError(f"{w.describe()}: start weights are a {w.meta.arch!r}, the run trains a {mine!r}")
    old = w.charset
    if old is None or charset is None or old.fingerprint == charset.fingerprint:
        _load_state(model, w.state, w.describe())
        return f"start weights loaded from {w.describe()}"
    fc = head_fc(model)
    model.head.fc = nn.Linear(fc.in_features, old.num_classes, bias=fc.bias is not None).to(fc.weight.device)
    _load_state(model, w.state, w.describe())
    carried = adapt_ctc_head(model, old, charset)
    new = unknown_characters(old, charset)
    unseen = (f"; {len(new)} characters of the dict are new to these weights (only training teaches them): "
              f"{' '.join(new[:20])}{' …' if len(new) > 20 else ''}" if new else "")
    return (f"start weights loaded from {w.describe()}; dict changed ({old.num_classes} → {charset.num_classes} "
            f"classes): CTC head rebuilt, {carried} of {charset.num_classes} rows carried over (blank included)"
            f"{unseen}")


def unknown_characters(known: Charset, charset: Charset) -> list[str]:
    """The classes of ``charset`` (space included) that weights trained with ``known`` cannot write."""
    have = set(known.classes)
    return [c for c in charset.classes[1:] if c not in have]
