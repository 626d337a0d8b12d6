"""The model registry: temporary architectures are removed again and leave nothing behind."""

from __future__ import annotations

import pytest
from torch import nn

from semiocr.core.models.registry import build_model, list_models, register_model, registered_models, unregister_model


def _linear(num_classes: int = 3) -> nn.Module:
    return nn.Linear(4, num_classes)


def test_registered_models_exist_only_inside_the_block() -> None:
    with registered_models({"test-linear": _linear}):
        assert "test-linear" in list_models()
        model = build_model("test-linear", num_classes=5)
        assert model.out_features == 5 and model.arch_name == "test-linear"
    assert "test-linear" not in list_models()
    with pytest.raises(KeyError, match="unknown model 'test-linear'"):
        build_model("test-linear")


def test_a_failed_registration_rolls_back_the_others() -> None:
    with pytest.raises(ValueError, match="'rec-tiny' is registered twice"), \
            registered_models({"test-first": _linear, "rec-tiny": _linear}):
        pass
    assert "test-first" not in list_models() and "rec-tiny" in list_models()  # the built-in one is untouched


def test_unregister_model() -> None:
    register_model("test-gone")(_linear)
    unregister_model("test-gone")
    unregister_model("test-gone")  # absent: no error
    assert "test-gone" not in list_models()


def test_no_test_architecture_leaks_into_this_module() -> None:
    assert not [name for name in list_models() if name.startswith(("ssl-test", "test-"))]
