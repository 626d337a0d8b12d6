"""The one config loader of every job: a YAML file (or defaults), PaddleX-style ``-o key.sub=value`` overrides
typed as YAML, validation into a pydantic model whose errors name the file and field, and the dumper that saves
the resolved config with a run."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError

M = TypeVar("M")


class ConfigError(ValueError):
    """An invalid config file or override; the message names the file, the override or the field."""


def parse_value(raw: str) -> Any:
    """YAML-typed scalar of an override value (``5`` → int, ``null`` → None, ``[1,2]`` → list)."""
    try:
        return yaml.safe_load(raw) if raw != "" else ""
    except yaml.YAMLError:
        return raw


def apply_overrides(data: dict[str, Any], overrides: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """Apply ``key=value`` / ``a.b=value`` overrides to a plain dict (returns a new dict)."""
    out = copy.deepcopy(data)
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r} must look like key=value (or section.key=value)")
        key, raw = item.split("=", 1)
        parts = [p for p in key.strip().split(".") if p]
        if not parts:
            raise ConfigError(f"override {item!r} has an empty key")
        node = out
        for p in parts[:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {item!r}: {p!r} is not a section")
        node[parts[-1]] = parse_value(raw)
    return out


def read_yaml(path: str | Path) -> dict[str, Any]:
    """A YAML mapping from ``path``; ``ConfigError`` naming the file when it is missing or malformed."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: invalid YAML: {e}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of config keys")
    return data


def validate(schema: type[M] | Any, data: dict[str, Any], where: str) -> M:
    """Validate ``data`` against a model class or a ``TypeAdapter``-able type; errors list each bad field."""
    adapter = schema if isinstance(schema, TypeAdapter) else TypeAdapter(schema)
    try:
        return adapter.validate_python(data)
    except ValidationError as e:
        lines = [f"{'.'.join(str(x) for x in err['loc'])}: {err['msg']}" for err in e.errors()]
        raise ConfigError(f"{where}: invalid config\n  " + "\n  ".join(lines)) from None


def load_config(schema: type[M] | Any, path: str | Path | None = None, overrides: list[str] | tuple[str, ...] = (),
                **fixed: Any) -> M:
    """Read ``path`` (defaults when None), apply ``overrides`` and the non-None ``fixed`` top-level values,
    validate against ``schema``."""
    data = read_yaml(path) if path is not None else {}
    data = apply_overrides(data, overrides)
    data.update({k: v for k, v in fixed.items() if v is not None})
    where = f"{path if path is not None else 'defaults'}{' + overrides' if overrides else ''}"
    return validate(schema, data, where)


def dump_config(cfg: BaseModel, path: str | Path) -> Path:
    """Write the resolved config as YAML (what the run actually used; loadable by ``load_config``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False, allow_unicode=True),
                    encoding="utf-8")
    return path
