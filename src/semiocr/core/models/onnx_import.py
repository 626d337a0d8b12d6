"""Reading the weights of a Paddle-exported ONNX file and mapping them onto one of our modules.

The mapping is derived, not hand-written: the ONNX nodes are walked in program order collecting the weight
constants each node reads, and our model is run once on a dummy input with hooks recording the order in which
its leaf modules execute. The two ordered lists are zipped, each pair checked by shape and module kind:

* ``Conv2d``/``ConvTranspose2d``: ``weight`` ← the conv's weight input (same layout); ``bias`` ← the conv's bias
  input or the constant added right after it (``[1, C, 1, 1]``, flattened), e.g. a folded BatchNorm;
* ``BatchNorm2d``: ``weight, bias, running_mean, running_var`` ← ``batch_norm*.w_0, b_0, w_1, w_2``;
* ``Linear``: ``weight`` ← the ``MatMul`` weight transposed (Paddle stores ``[in, out]``), ``bias`` ← the add;
* ``LayerNorm``: ``weight, bias`` ← ``layer_norm_N.w_0, b_0``, or the scale/shift vectors of a LayerNorm that the
  exporter decomposed into elementary ops;
* ``LearnableAffine``: ``scale, bias`` ← ``mobile_one_block_N`` / ``whswish_b_N`` ``.w_0, .w_1``.

What counts as a weight: a constant (initializer or ``Constant`` node) named like a Paddle parameter (the
prefixes below), or a float constant of more than one element read as the weight/bias input of a
``Conv``/``ConvTranspose``/``BatchNormalization``/``MatMul``/``Gemm`` or as an operand of an ``Add``/``Mul``,
or a ``[1, C, 1, 1]`` operand of an ``Add`` (a conv bias, even for one channel). Scalars (epsilons, the attention
scale) and the scales of ``Resize`` are not weights.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

WEIGHT_PREFIXES = ("conv2d_", "batch_norm", "linear_", "layer_norm_", "mobile_one_block_", "whswish_b_")
# ONNX op → input positions that hold weights
_WEIGHT_INPUTS: dict[str, tuple[int, ...]] = {
    "Conv": (1, 2), "ConvTranspose": (1, 2), "BatchNormalization": (1, 2, 3, 4), "MatMul": (1,), "Gemm": (1, 2),
    "Add": (0, 1), "Mul": (0, 1),
}


class PretrainedError(RuntimeError):
    """A pretrained preset cannot be found, read or mapped onto our architecture."""


def _constants(model) -> dict[str, np.ndarray]:
    from onnx import numpy_helper

    consts: dict[str, np.ndarray] = {}
    for node in model.graph.node:
        if node.op_type == "Constant":
            value = next((a.t for a in node.attribute if a.name == "value"), None)
            if value is not None:
                consts[node.output[0]] = numpy_helper.to_array(value)
    for init in model.graph.initializer:
        consts[init.name] = numpy_helper.to_array(init)
    return consts


def _is_weight(name: str, arr: np.ndarray, op: str, position: int) -> bool:
    if name.startswith(WEIGHT_PREFIXES):
        return True
    if position not in _WEIGHT_INPUTS.get(op, ()) or arr.dtype.kind != "f":
        return False
    return arr.size > 1 or (op == "Add" and arr.ndim == 4)  # [1, C, 1, 1] per-channel bias, also when C == 1


def read_onnx_weights(path: Path) -> tuple[list[tuple[str, np.ndarray]], dict[str, str]]:
    """Weight constants of an ONNX file in the order its nodes first read them, and its metadata."""
    import onnx

    model = onnx.load(str(path))
    consts = _constants(model)
    ordered: list[tuple[str, np.ndarray]] = []
    seen: set[str] = set()
    for node in model.graph.node:
        for pos, inp in enumerate(node.input):
            if inp in consts and inp not in seen and _is_weight(inp, consts[inp], node.op_type, pos):
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
    elif isinstance(mod, nn.Conv2d | nn.ConvTranspose2d) and local == "bias" and t.dim() == 4 \
            and t.shape[0] == 1 and t.shape[2:] == (1, 1):
        t = t.reshape(-1)  # a bias added after the conv: [1, C, 1, 1]
    if tuple(t.shape) != tuple(target.shape):
        raise PretrainedError(f"cannot map {src_name} {list(arr.shape)} onto {key} {list(target.shape)} "
                              f"({type(mod).__name__}); the architecture does not match the ONNX file")
    return t


def map_onnx_state_dict(model: nn.Module, weights: list[tuple[str, np.ndarray]], example_shape: tuple[int, ...],
                        path: Path) -> tuple[dict, dict[str, str]]:
    """State dict for ``model`` from ordered ONNX ``weights`` (of ``path``), and the map ``our key -> ONNX name``."""
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
