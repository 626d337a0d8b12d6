"""Real pretrained weights: PP-OCRv4 mobile rec/det imported from the ONNX files of ``rapidocr_onnxruntime``.

The ONNX files store every weight as a named constant (Paddle parameter names such as ``conv2d_157.w_0``).
The name mapping is derived, not hand-written: the ONNX nodes are walked in program order collecting the
weight constants each node reads, and our model is run once on a dummy input with hooks recording the order
in which its leaf modules execute. The two ordered lists are zipped, each pair checked by shape and module
kind:

* ``Conv2d``/``ConvTranspose2d``: ``weight`` ← ``conv2d_N.w_0`` (same layout); ``bias`` ← ``conv2d_N.b_0``
  (the deconv bias ``[1, C, 1, 1]`` is flattened);
* ``BatchNorm2d``: ``weight, bias, running_mean, running_var`` ← ``batch_norm*.w_0, b_0, w_1, w_2``;
* ``Linear``: ``weight`` ← ``linear_N.w_0`` transposed (Paddle stores ``[in, out]``), ``bias`` ← ``b_0``;
* ``LayerNorm``: ``weight, bias`` ← ``layer_norm_N.w_0, b_0``;
* ``LearnableAffine``: ``scale, bias`` ← ``mobile_one_block_N`` / ``whswish_b_N`` ``.w_0, .w_1``.

The full mapping is returned in ``meta["name_mapping"]``. Conversions are cached as ``.pt`` under
``$SEMIOCR_HOME/weights`` (default ``~/.semiocr/weights``), keyed by the ONNX file's SHA-256. Nothing is
ever downloaded: the files come from the installed package.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from semiocr.core.models.registry import build_model
from semiocr.core.weights.checkpoint import det_input_spec, rec_input_spec
from semiocr.core.workspace import semiocr_home
from semiocr.runtime.charset import Charset

_WEIGHT_PREFIXES = ("conv2d_", "batch_norm", "linear_", "layer_norm_", "mobile_one_block_", "whswish_b_")


class PretrainedError(RuntimeError):
    """A pretrained preset cannot be found, read or mapped onto our architecture."""


@dataclass(frozen=True)
class Preset:
    """A named set of pretrained weights and where they come from."""

    arch: str
    onnx_file: str
    example_shape: tuple[int, int, int, int]
    is_rec: bool
    input: dict  # the input spec with normalisation (``semiocr.core.weights.checkpoint``)


PRESETS: dict[str, Preset] = {
    "PP-OCRv4-mobile-rec": Preset(
        arch="PP-OCRv4-mobile-rec", onnx_file="ch_PP-OCRv4_rec_infer.onnx", example_shape=(1, 3, 48, 64),
        is_rec=True, input=rec_input_spec(),
    ),
    "PP-OCRv4-mobile-det": Preset(
        arch="PP-OCRv4-mobile-det", onnx_file="ch_PP-OCRv4_det_infer.onnx", example_shape=(1, 3, 64, 64),
        # Pre-processing of RapidOCR 1.4.4's config.yaml (the reference runtime of these weights).
        is_rec=False, input=det_input_spec(736, "min"),
    ),
}


def list_pretrained() -> list[str]:
    """Names accepted by ``load_preset`` (and, through the weights resolver, wherever weights are)."""
    return sorted(PRESETS)


def onnx_path(name: str) -> Path:
    """Path of the ONNX file behind preset ``name`` inside the installed ``rapidocr_onnxruntime`` package."""
    preset = _preset(name)
    spec = importlib.util.find_spec("rapidocr_onnxruntime")
    if spec is None or not spec.submodule_search_locations:
        raise PretrainedError(f"pretrained {name!r} needs the package rapidocr_onnxruntime==1.4.4 (pip install it)")
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / preset.onnx_file
    if not path.is_file():
        raise PretrainedError(f"pretrained {name!r}: {path} is missing from the installed rapidocr_onnxruntime")
    return path


def _preset(name: str) -> Preset:
    if name not in PRESETS:
        raise PretrainedError(f"unknown pretrained weights {name!r}; known: {', '.join(list_pretrained())}")
    return PRESETS[name]


def read_onnx_weights(path: Path) -> tuple[list[tuple[str, np.ndarray]], dict[str, str]]:
    """Weight constants of an ONNX file in the order its nodes first read them, and its metadata."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    consts: dict[str, np.ndarray] = {}
    for node in model.graph.node:
        if node.op_type == "Constant" and node.output[0].startswith(_WEIGHT_PREFIXES):
            consts[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
    for init in model.graph.initializer:
        if init.name.startswith(_WEIGHT_PREFIXES):
            consts[init.name] = numpy_helper.to_array(init)
    ordered: list[tuple[str, np.ndarray]] = []
    seen: set[str] = set()
    for node in model.graph.node:
        for inp in node.input:
            if inp in consts and inp not in seen:
                seen.add(inp)
                ordered.append((inp, consts[inp]))
    return ordered, {p.key: p.value for p in model.metadata_props}


def execution_order(model: nn.Module, example: torch.Tensor) -> list[tuple[str, nn.Module, str]]:
    """``(state_dict key, owning module, local name)`` of every tensor, in the order modules run on ``example``."""
    names = {m: n for n, m in model.named_modules()}
    called: list[nn.Module] = []
    hooks = [m.register_forward_pre_hook(lambda mod, _inp: called.append(mod)) for m in model.modules()]
    try:
        with torch.no_grad():
            model.eval()(example)
    finally:
        for h in hooks:
            h.remove()
    out: list[tuple[str, nn.Module, str]] = []
    done: set[int] = set()
    for mod in called:
        if id(mod) in done:
            continue
        done.add(id(mod))
        local = [n for n, _ in mod.named_parameters(recurse=False)]
        local += [n for n, _ in mod.named_buffers(recurse=False) if n != "num_batches_tracked"]
        prefix = names[mod] + "." if names[mod] else ""
        out.extend((prefix + n, mod, n) for n in local)
    return out


def _convert(mod: nn.Module, local: str, key: str, src_name: str, arr: np.ndarray,
             target: torch.Tensor) -> torch.Tensor:
    t = torch.from_numpy(np.array(arr, dtype=np.float32, copy=True))
    if isinstance(mod, nn.Linear) and local == "weight":
        t = t.t().contiguous()
    elif isinstance(mod, nn.ConvTranspose2d) and local == "bias":
        t = t.reshape(-1)
    if tuple(t.shape) != tuple(target.shape):
        raise PretrainedError(f"cannot map {src_name} {list(arr.shape)} onto {key} {list(target.shape)} "
                              f"({type(mod).__name__}); the architecture does not match the ONNX file")
    return t


def map_onnx_state_dict(model: nn.Module, weights: list[tuple[str, np.ndarray]], example_shape: tuple[int, ...],
                        path: Path) -> tuple[dict, dict[str, str]]:
    """State dict for ``model`` from ordered ONNX ``weights`` (of ``path``), and the map ``our key -> Paddle name``."""
    order = execution_order(model, torch.zeros(example_shape))
    if len(order) != len(weights):
        raise PretrainedError(f"{path.name}: {len(weights)} weight tensors in the ONNX file, {len(order)} used by "
                              f"{type(model).__name__}; the architecture does not match")
    own = model.state_dict()
    state: dict[str, torch.Tensor] = {}
    mapping: dict[str, str] = {}
    for (key, mod, local), (src_name, arr) in zip(order, weights, strict=True):
        state[key] = _convert(mod, local, key, src_name, arr, own[key])
        mapping[key] = src_name
    return state, mapping


def cache_dir() -> Path:
    """``$SEMIOCR_HOME/weights`` (default ``~/.semiocr/weights``)."""
    return semiocr_home() / "weights"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _charset_from_meta(meta: dict[str, str], path: Path) -> Charset:
    if "character" not in meta:
        raise PretrainedError(f"{path}: metadata has no 'character' entry (the recognizer's dict)")
    return Charset(tuple(meta["character"].split("\n")), use_space=True)


def convert_preset(name: str) -> dict:
    """Convert preset ``name`` from its ONNX file: ``{"state_dict", "meta", "charset"}`` (no caching)."""
    preset = _preset(name)
    path = onnx_path(name)
    weights, onnx_meta = read_onnx_weights(path)
    model = build_model(preset.arch, num_classes=6625) if preset.is_rec else build_model(preset.arch)
    state, mapping = map_onnx_state_dict(model, weights, preset.example_shape, path)
    charset = _charset_from_meta(onnx_meta, path) if preset.is_rec else None
    if charset is not None and charset.num_classes != model.head.fc.out_features:
        raise PretrainedError(f"{path}: dict has {charset.num_classes} classes, head has {model.head.fc.out_features}")
    meta = {"input": preset.input, "name": name, "arch": preset.arch, "source": f"rapidocr_onnxruntime/models/"
            f"{preset.onnx_file}", "source_sha256": _sha256(path), "name_mapping": mapping}
    return {"state_dict": state, "meta": meta, "charset": charset.to_dict() if charset else None}


def _load_or_convert(name: str, cache: Path | None) -> dict:
    sha = _sha256(onnx_path(name))
    target = (cache or cache_dir()) / f"{name}.pt"
    if target.is_file():
        blob = torch.load(target, map_location="cpu", weights_only=True)
        meta = blob.get("meta", {})
        if meta.get("source_sha256") == sha and meta.get("input") == _preset(name).input:  # same file, same format
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

    ``name``: ``"PP-OCRv4-mobile-rec"`` or ``"PP-OCRv4-mobile-det"``. The first call converts the ONNX file of
    the installed ``rapidocr_onnxruntime`` and caches a ``.pt`` (``cache`` dir, default ``cache_dir()``).
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
    """
    import onnxruntime as ort

    opts = ort.SessionOptions()
    if not optimize:
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(str(onnx_path(name)), opts, providers=["CPUExecutionProvider"])
