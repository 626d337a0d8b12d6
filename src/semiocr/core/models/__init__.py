"""Model architectures behind one flat name → builder registry (see ``registry``)."""

from semiocr.core.models.registry import (
    build_model,
    list_models,
    register_model,
    registered_models,
    unregister_model,
)

__all__ = ["build_model", "list_models", "register_model", "registered_models", "unregister_model"]
