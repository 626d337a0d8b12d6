"""Typed training config: YAML file + PaddleX-style ``-o key=value`` overrides, saved resolved with the run.

The basic fields mirror the seed's training form (epochs, batch size, learning rate; advanced: resume
checkpoint, pretrained weights, warm-up steps, log interval in steps, eval-and-save interval in epochs).
Stage configs (semi-supervised teacher, distilled student) subclass ``TrainConfig`` and add their fields.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

#: Largest batch size the form accepts. The seed caps it at what one V100 32 GB runs; for
#: PP-OCRv4-server-rec at 48×320 with AMP that is a few hundred lines, so the form allows 512.
MAX_BATCH_SIZE = 512

C = TypeVar("C", bound="TrainConfig")


class ConfigError(ValueError):
    """An invalid config file or override; the message names the file / key."""


class TrainConfig(BaseModel):
    """Config of a supervised recognition run (every field is a knob of the run form)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    # what to train on
    arch: str = Field("PP-OCRv4-mobile-rec", description="architecture name in the model registry")
    model_kwargs: dict[str, Any] = Field(default_factory=dict, description="extra builder arguments")
    data_dir: str | None = Field(None, description="dataset dir (MSTextRecLMSSLDataset layout)")
    train_file: str = "train.txt"
    val_file: str = "val.txt"
    dict_file: str | None = Field(None, description="dict file; default <data_dir>/dict.txt")
    use_space: bool = Field(True, description="append the space as the last class (PaddleOCR use_space_char)")
    output_dir: str = "output/rec"
    # basic form
    epochs: int = Field(20, ge=1, le=100_000)
    batch_size: int = Field(64, ge=1, le=MAX_BATCH_SIZE, description=f"per device, at most {MAX_BATCH_SIZE}")
    learning_rate: float = Field(1e-3, gt=0, le=10)
    # advanced form
    resume: str | None = Field(None, description="checkpoint (or run dir) to resume exactly")
    pretrained: str | None = Field(None, description="checkpoint, run dir or preset name (e.g. PP-OCRv4-mobile-rec) "
                                      "whose weights start the run (weights only)")
    warmup_steps: int = Field(0, ge=0)
    log_interval: int = Field(10, ge=1, description="steps between progress logs")
    eval_interval: int = Field(1, ge=1, description="epochs between evaluation + checkpoint")
    eval_at_start: bool = Field(False, description="evaluate the start weights too (epoch 0): they stay best.pt "
                                                   "unless training beats them")
    save_interval_steps: int = Field(0, ge=0, description="also save `latest` every N steps (0: per epoch only)")
    save_periodic: bool = Field(True, description="keep epoch_<n>.pt at each eval interval")
    # engine
    seed: int = 42
    device: str = Field("auto", description="auto | cpu | cuda | cuda:<i>")
    workers: int = Field(2, ge=0, le=64)
    augment: Literal["none", "weak", "strong"] = "weak"
    rotate_180_aug: float = Field(0.0, ge=0, le=1, description="probability of turning a training line by 180° "
                                  "(label unchanged): read upside-down lines in one pass; 0 for digit strings (6/9)")
    max_text_length: int = Field(25, ge=1)
    max_width: int = Field(960, ge=48, description="cap on the padded batch width (pixels)")
    optimizer: Literal["adamw", "adam", "sgd"] = "adamw"
    weight_decay: float = Field(1e-4, ge=0)
    min_lr_ratio: float = Field(0.0, ge=0, le=1, description="cosine floor as a fraction of learning_rate")
    grad_clip: float = Field(5.0, ge=0, description="max gradient norm (0: off)")
    freeze_bn_stats: bool = Field(False, description="keep BatchNorm running statistics fixed while training "
                                                     "(small batches, fine-tuning good weights)")
    amp: bool = Field(True, description="mixed precision on CUDA (ignored on CPU)")
    eval_batch_size: int = Field(64, ge=1, le=MAX_BATCH_SIZE)


def _parse_value(raw: str) -> Any:
    """YAML-typed scalar of an override value (``5`` → int, ``null`` → None, ``[1,2]`` → list)."""
    try:
        return yaml.safe_load(raw) if raw != "" else ""
    except yaml.YAMLError:
        return raw


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``key=value`` / ``a.b=value`` overrides to a plain dict (returns a new dict)."""
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in data.items()}
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r} must look like key=value")
        key, raw = item.split("=", 1)
        parts = [p for p in key.strip().split(".") if p]
        if not parts:
            raise ConfigError(f"override {item!r} has an empty key")
        node = out
        for p in parts[:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {item!r}: {p!r} is not a section")
        node[parts[-1]] = _parse_value(raw)
    return out


def load_config(path: str | Path | None, overrides: list[str] | None = None, cls: type[C] = TrainConfig) -> C:
    """Read a YAML config (or start from defaults when ``path`` is None), apply overrides, validate."""
    data: dict[str, Any] = {}
    where = "defaults"
    if path is not None:
        where = str(path)
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except FileNotFoundError:
            raise ConfigError(f"{path}: config file not found") from None
        except yaml.YAMLError as e:
            raise ConfigError(f"{path}: invalid YAML: {e}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: the top level must be a mapping of config keys")
    data = apply_overrides(data, overrides or [])
    try:
        return cls.model_validate(data)
    except ValidationError as e:
        lines = [f"{'.'.join(str(x) for x in err['loc'])}: {err['msg']}" for err in e.errors()]
        raise ConfigError(f"{where} (+ overrides): invalid config\n  " + "\n  ".join(lines)) from None


def save_config(cfg: BaseModel, path: str | Path) -> None:
    """Write the resolved config as YAML (what the run actually used)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False, allow_unicode=True),
                          encoding="utf-8")
