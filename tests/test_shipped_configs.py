"""Every shipped ``configs/*.yaml`` loads through the job config loader with the overrides its header tells
users to give, names registered architectures that build with the configured arguments, and names start weights
that the weights resolver finds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from semiocr.core.models.registry import build_model, list_models
from semiocr.core.weights.resolve import resolve_weights

CONFIGS = sorted((Path(__file__).resolve().parents[1] / "configs").glob("*.yaml"))


# -- the one place that knows the loaders and knob names (repoint here when they change) ----------------------
def load_shipped(path: Path, data: Path, out: Path) -> Any:
    """Load a shipped config (it names its own kind) with the dataset and output directory a user passes."""
    from semiocr.core.config import read_yaml
    from semiocr.core.job import load_job_config

    data_key = "data.root" if read_yaml(path).get("kind") == "lmssl" else "data_dir"
    return load_job_config(path, [f"{data_key}={data}", f"output_dir={out}"])


def models_of(cfg: Any) -> list[tuple[str, dict[str, Any], str | None]]:
    """``(arch, builder kwargs, start weights)`` of each model a loaded config trains."""
    if hasattr(cfg, "teacher"):  # LMSSL
        roles = {"joint": ("teacher", "student"), "large": ("teacher",), "small": ("student",)}[cfg.mode]
        return [(m.arch, dict(m.kwargs), m.pretrained) for m in (getattr(cfg, r).model for r in roles)]
    return [(cfg.arch, dict(cfg.model_kwargs), cfg.pretrained)]


def data_dir_of(cfg: Any) -> str:
    return str(cfg.data.root) if hasattr(cfg, "data") else str(cfg.data_dir)
# ---------------------------------------------------------------------------------------------------------------


def test_configs_are_shipped() -> None:
    assert {p.name.split("_")[0] for p in CONFIGS} >= {"rec", "lmssl"}


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_shipped_config_loads_and_its_models_exist(path: Path, tmp_path: Path) -> None:
    cfg = load_shipped(path, tmp_path / "dataset", tmp_path / "run")
    assert data_dir_of(cfg) == str(tmp_path / "dataset") and str(cfg.output_dir) == str(tmp_path / "run")
    models = models_of(cfg)
    assert models
    for arch, kwargs, weights in models:
        assert arch in list_models(), f"{path.name}: architecture {arch!r} is not registered"
        model = build_model(arch, num_classes=11, **kwargs) if "-det" not in arch else build_model(arch, **kwargs)
        assert sum(p.numel() for p in model.parameters()) > 0
        if weights is not None:
            resolve_weights(weights)  # raises CheckpointError when the name is not a file, run dir or preset
