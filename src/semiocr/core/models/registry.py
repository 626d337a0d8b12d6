"""Flat name → builder registry (timm's ``register_model`` style).

Builders are plain functions returning an ``nn.Module``; recognition builders take ``num_classes``.
Model modules register themselves on import; ``_import_all`` imports the known modules lazily so that
``build_model`` works without callers importing architectures by hand.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

from torch import nn

_BUILDERS: dict[str, Callable[..., nn.Module]] = {}

# Modules that define architectures; each calls ``register_model`` at import time.
_MODEL_MODULES: tuple[str, ...] = (
    "semiocr.core.models.tiny",
    "semiocr.core.models.rec_model",
    "semiocr.core.models.rec_server",
    "semiocr.core.models.det_model",
    "semiocr.core.models.det_server",
    "semiocr.core.models.rec_v6",
    "semiocr.core.models.det_v6",
)


def register_model(name: str) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Decorator: register ``fn`` as the builder of architecture ``name``."""

    def deco(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in _BUILDERS and _BUILDERS[name] is not fn:
            raise ValueError(f"model {name!r} is registered twice")
        _BUILDERS[name] = fn
        return fn

    return deco


def unregister_model(name: str) -> None:
    """Remove architecture ``name`` (no error when it is not registered). An architecture that a model module
    registers on import stays removed: its module is not imported again."""
    _BUILDERS.pop(name, None)


@contextmanager
def registered_models(builders: Mapping[str, Callable[..., nn.Module]]) -> Iterator[None]:
    """Register ``builders`` (name → builder) for the duration of a ``with`` block, then remove them: temporary
    architectures (tests, experiments) that do not leak into the rest of the process. A name of a built-in
    architecture is refused (``ValueError``), whether or not its module was imported yet."""
    _import_all()
    added: list[str] = []
    try:
        for name, fn in builders.items():
            fresh = name not in _BUILDERS
            register_model(name)(fn)
            if fresh:
                added.append(name)
        yield
    finally:
        for name in added:
            unregister_model(name)


def _import_all() -> None:
    for mod in _MODEL_MODULES:
        importlib.import_module(mod)


def list_models() -> list[str]:
    """Names of every registered architecture, sorted."""
    _import_all()
    return sorted(_BUILDERS)


def build_model(name: str, **kwargs) -> nn.Module:
    """Build architecture ``name``; unknown names get an error listing the known ones."""
    _import_all()
    if name not in _BUILDERS:
        raise KeyError(f"unknown model {name!r}; known: {', '.join(sorted(_BUILDERS)) or '(none)'}")
    model = _BUILDERS[name](**kwargs)
    model.arch_name = name
    return model
