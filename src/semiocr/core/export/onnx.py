"""Weights → self-describing ONNX file, refused when ONNX Runtime and PyTorch disagree.

Any recognizer or detector weights name (preset, checkpoint file, run directory, marked nickname) is exported
with the TorchScript-based exporter (``torch.onnx.export(..., dynamo=False)``: torch 2.13's default exporter
needs ``onnxscript``, which the runtime does not ship; the traced graph is the same one the check below runs):

* recognition: input ``x`` float32 ``[N, 3, 48, W]`` (dynamic batch and width), output ``probs``: the softmax
  ``[N, T, C]`` (our models return logits; the export wraps them);
* detection: input ``x`` float32 ``[N, 3, H, W]`` (dynamic), output ``prob_map`` ``[N, 1, H, W]`` (channel 0 of the
  model's maps, see ``core.inference.detector.prob_from_output``).

Metadata: ``semiocr`` = JSON of the weights' self-description (format, kind, arch, task, builder arguments, charset
for recognizers, input spec with normalisation, output, parent = the resolved checkpoint and its SHA-256, dataset
hash, metrics, versions, export date, opset, tolerance); recognizers also carry ``character``: the dict
characters joined by ``"\\n"``, which RapidOCR reads (``splitlines()``, then appends the space and puts the blank
first, PaddleOCR's layout).

Tolerances: the export is checked on generated lines (recognition) or a generated page (detection), plus the
images of ``check_images``, run through PyTorch (float32, CPU, one thread) and through ONNX Runtime (CPU) twice:
the graph as written (optimisations off: is the graph the model?) and as the runtime runs it (full graph
optimisation, whose fused kernels re-round). It is REFUSED, and no file is left behind, when the largest
absolute difference of the softmax probabilities (recognition) or of the probability map (detection) exceeds
``REC_TOLERANCE`` / ``DET_TOLERANCE`` = 1e-4 as written, or ``OPTIMIZED_TOLERANCE`` = 5e-4 optimised. Measured on the
ported PP-OCRv4 mobile models: rec 1e-5 as written, 1.8e-4 optimised (a padded batch of 6); det 2e-5 and
3e-5.
"""

from __future__ import annotations

import json
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from semiocr import __version__
from semiocr.core.data.hashing import file_sha256
from semiocr.core.export.checks import CheckInput, CheckResult, compare_outputs, det_check_inputs, rec_check_inputs
from semiocr.core.export.exportable import exportable_copy
from semiocr.core.inference.detector import prob_from_output
from semiocr.core.weights.checkpoint import det_input_spec, rec_input_spec
from semiocr.core.weights.load import LoadedWeights, build_from_weights, load_weights
from semiocr.runtime.onnx_runner import META_KEY

REC_TOLERANCE = 1e-4  # max |Δ softmax probability|, recognition
DET_TOLERANCE = 1e-4  # max |Δ probability|, detection map
OPTIMIZED_TOLERANCE = 5e-4  # either, against ONNX Runtime with its graph optimisations (as the runtime runs)
DEFAULT_OPSET = 17  # LayerNormalization is a single op from 17 on; ONNX Runtime ≥ 1.11 runs it
META_FORMAT = "semiocr.onnx/1"
CHARACTER_KEY = "character"
KINDS = ("rec", "det")


class ExportError(RuntimeError):
    """The weights cannot be exported as asked (wrong kind, bad opset, exporter failure)."""


class ExportMismatchError(ExportError):
    """ONNX Runtime and PyTorch disagree on a check input beyond the tolerance: the export is refused."""


class RecognitionExport(nn.Module):
    """A recognizer returning the softmax ``[N, T, C]`` of its logits (the exported contract)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.model(x), dim=2)


class DetectionExport(nn.Module):
    """A DB detector returning its probability map ``[N, 1, H, W]`` (the exported contract)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return prob_from_output(self.model(x))[:, None]


@dataclass
class ExportReport:
    """What an export wrote and how closely ONNX Runtime reproduces PyTorch on each check input."""

    path: Path
    kind: str
    arch: str
    weights: str
    opset: int
    size_bytes: int
    params: int
    tolerance: float
    optimized_tolerance: float
    seconds: float
    checks: list[CheckResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def max_diff(self) -> float:
        return max((c.max_diff for c in self.checks), default=0.0)

    @property
    def max_diff_optimized(self) -> float:
        return max((c.max_diff_optimized for c in self.checks), default=0.0)

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "kind": self.kind, "arch": self.arch, "weights": self.weights,
                "opset": self.opset, "size_bytes": self.size_bytes, "params": self.params,
                "tolerance": self.tolerance, "optimized_tolerance": self.optimized_tolerance,
                "max_diff": self.max_diff, "max_diff_optimized": self.max_diff_optimized,
                "seconds": round(self.seconds, 2), "checks": [c.to_dict() for c in self.checks], "notes": self.notes}

    def text(self) -> str:
        """A few lines for the console."""
        what = "recognizer" if self.kind == "rec" else "detector"
        out = [f"exported {what} {self.arch} from {self.weights}",
               f"  file: {self.path} ({self.size_bytes / 1e6:.2f} MB, {self.params:,} parameters, opset {self.opset}, "
               f"{self.seconds:.1f} s)",
               f"  ONNX Runtime vs PyTorch over {len(self.checks)} inputs: max |Δprob| {self.max_diff:.2e} as written "
               f"(tolerance {self.tolerance:.0e}), {self.max_diff_optimized:.2e} optimised "
               f"(tolerance {self.optimized_tolerance:.0e})"]
        out += [f"    {c.name}: {c.input_shape} → {c.output_shape}: {c.max_diff:.2e} / {c.max_diff_optimized:.2e}"
                for c in self.checks]
        out += [f"  note: {n}" for n in self.notes]
        return "\n".join(out)


def weights_kind(w: LoadedWeights) -> str:
    """``det`` for detector weights, ``rec`` for recognizers (from the weights' metadata)."""
    return "det" if w.meta.is_detector else "rec"




def _versions(w: LoadedWeights) -> dict[str, Any]:
    import onnx
    import onnxruntime

    return {"semiocr": __version__, "torch": str(torch.__version__), "onnx": onnx.__version__,
            "onnxruntime": onnxruntime.__version__, "checkpoint": dict(w.meta.versions)}


def export_metadata(w: LoadedWeights, kind: str, opset: int, tolerance: float) -> dict[str, str]:
    """The ONNX metadata entries of an export of ``w``: ``semiocr`` (JSON) and, for recognizers, ``character``."""
    meta = w.meta
    if kind == "rec":
        spec = {**rec_input_spec(), **meta.input}
        io = {"input": {**spec, "name": "x", "shape": ["N", 3, spec["height"], "W"]},
              "output": {"name": "probs", "shape": ["N", "T", w.charset.num_classes], "kind": "softmax"}}
    else:
        spec = {**det_input_spec(), **meta.input}
        io = {"input": {**spec, "name": "x", "shape": ["N", 3, "H", "W"]},
              "output": {"name": "prob_map", "shape": ["N", 1, "H", "W"], "kind": "probability_map"}}
    if w.ref.path is not None:
        parent, parent_sha = str(w.ref.path.resolve()), file_sha256(w.ref.path)
    else:
        parent, parent_sha = f"preset:{w.ref.preset}", meta.extra.get("source_sha256")
    doc = {"format": META_FORMAT, "kind": kind, "arch": meta.arch, "task": meta.task,
           "model_kwargs": meta.model_kwargs, "charset": meta.charset, **io, "parent": parent,
           "parent_sha256": parent_sha, "weights": w.ref.spec, "weights_parent": meta.parent,
           "dataset_hash": meta.dataset_hash, "metrics": meta.metrics, "epoch": meta.epoch, "step": meta.step,
           "source": meta.extra.get("source"), "versions": _versions(w),
           "exported": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "opset": opset,
           "parity": {"measure": "max |Δprob| ONNX Runtime vs PyTorch", "tolerance": tolerance,
                      "optimized_tolerance": OPTIMIZED_TOLERANCE}}
    props = {META_KEY: json.dumps(doc, ensure_ascii=False, sort_keys=True)}
    if kind == "rec":
        props[CHARACTER_KEY] = "\n".join(w.charset.chars)
    return props


def rapidocr_notes(w: LoadedWeights) -> list[str]:
    """Why RapidOCR would read this recognizer's ``character`` entry differently from ours (empty: it reads it
    the same): it splits on every line boundary and always appends the space."""
    chars = w.charset.chars
    breaks = [c for c in chars if len(("x" + c + "x").splitlines()) > 1]
    return [f"the dict holds line-break characters {breaks!r}: RapidOCR's split of `character` misreads it "
            f"(our runtime reads the `semiocr` entry)"] if breaks else []


def write_metadata(path: Path, props: dict[str, str], doc: str = "") -> None:
    """Replace the metadata of ONNX file ``path`` with ``props`` (and check the model)."""
    import onnx

    model = onnx.load(str(path))
    del model.metadata_props[:]
    for key, value in props.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    model.producer_name, model.producer_version = "semiocr", __version__
    if doc:
        model.doc_string = doc
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def _trace(wrapper: nn.Module, example: np.ndarray, path: Path, kind: str, opset: int) -> list[str]:
    """``torch.onnx.export`` (TorchScript tracer) of ``wrapper``; returns the tracer's warnings (deduplicated)."""
    axes = {"x": {0: "N", 3: "W"}, "probs": {0: "N", 1: "T"}} if kind == "rec" else \
        {"x": {0: "N", 2: "H", 3: "W"}, "prob_map": {0: "N", 2: "H", 3: "W"}}
    out_name = "probs" if kind == "rec" else "prob_map"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            torch.onnx.export(wrapper, (torch.from_numpy(example),), str(path), dynamo=False, input_names=["x"],
                              output_names=[out_name], dynamic_axes=axes, opset_version=opset)
        except Exception as e:  # noqa: BLE001 - the exporter's own error, named for the user
            raise ExportError(f"torch.onnx.export failed (opset {opset}): {type(e).__name__}: {e}") from None
    found = [f"{Path(c.filename).name}:{c.lineno}: {str(c.message).split('. ')[0]}" for c in caught
             if issubclass(c.category, torch.jit.TracerWarning)]
    return [f"tracer warning at {m[:200]}" for m in dict.fromkeys(found)]


def _plain_session(path: Path, threads: int | None):
    """ONNX Runtime on the graph exactly as written (no fusion), CPU."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    if threads:
        opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def _reference(wrapper: nn.Module) -> Callable[[np.ndarray], np.ndarray]:
    """The PyTorch side of the check: float32 on one thread. Multi-threaded PyTorch picks other convolution
    kernels whose rounding drifts further (PP-OCRv4's recognizer: 1.8e-4 from a float64 run on 2 threads, 4.9e-5
    on one); a float64 reference would be exact but ~50x slower."""

    @torch.inference_mode()
    def run(x: np.ndarray) -> np.ndarray:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return wrapper(torch.from_numpy(x)).numpy()
        finally:
            torch.set_num_threads(threads)

    return run


def _run_checks(path: Path, wrapper: nn.Module, inputs: list[CheckInput], threads: int | None
                ) -> list[CheckResult]:
    """PyTorch vs ONNX Runtime (as written and optimised) on every check input."""
    from semiocr.runtime.onnx_runner import make_session

    plain, optimized = _plain_session(path, threads), make_session(path, threads)
    return compare_outputs(inputs, _reference(wrapper), lambda x: plain.run(None, {"x": x})[0],
                           lambda x: optimized.run(None, {"x": x})[0])


def _refusal(w: LoadedWeights, checks: list[CheckResult], tol: float, opt_tol: float, notes: list[str]) -> str | None:
    """Why the checks refuse the export (None: they pass)."""
    worst = max(checks, key=lambda c: c.max_diff)
    worst_opt = max(checks, key=lambda c: c.max_diff_optimized)
    if not worst.max_diff <= tol:
        why = (f"on {worst.name} (input {worst.input_shape}): max |Δprob| {worst.max_diff:.3e} > tolerance "
               f"{tol:.0e} (graph as written)")
    elif not worst_opt.max_diff_optimized <= opt_tol:
        why = (f"on {worst_opt.name} (input {worst_opt.input_shape}): max |Δprob| {worst_opt.max_diff_optimized:.3e} "
               f"> tolerance {opt_tol:.0e} (with ONNX Runtime's graph optimisations)")
    else:
        return None
    hint = f" (exporter warnings: {'; '.join(notes)})" if notes else ""
    return f"{w.describe()}: export refused, no file written: ONNX Runtime and PyTorch disagree {why}{hint}"


def export_onnx(weights: str | Path, out: str | Path, kind: str | None = None, opset: int = DEFAULT_OPSET,
                check_images: str | Path | None = None, tolerance: float | None = None,
                optimized_tolerance: float = OPTIMIZED_TOLERANCE, threads: int | None = None) -> ExportReport:
    """Export ``weights`` to ``out`` and check it (see the module); returns the report.

    ``kind`` (``rec``/``det``) defaults to the weights' own; a different one is an ``ExportError``. Raises
    ``ExportMismatchError`` (no file written; an existing ``out`` is left as it was) when ONNX Runtime and PyTorch
    disagree beyond ``tolerance`` (default ``REC_TOLERANCE`` / ``DET_TOLERANCE``, graph as written) or
    ``optimized_tolerance`` (optimised graph) on any check input.
    """
    t0 = time.perf_counter()
    w = load_weights(weights)
    own = weights_kind(w)
    if kind is not None and kind not in KINDS:
        raise ExportError(f"--kind {kind!r}: rec or det")
    if kind is not None and kind != own:
        what = "a detector" if own == "det" else "a recognizer"
        raise ExportError(f"{w.describe()}: the weights are {what} ({w.meta.arch}), not --kind {kind}")
    tol = tolerance if tolerance is not None else (REC_TOLERANCE if own == "rec" else DET_TOLERANCE)
    model = build_from_weights(w).float().cpu().eval()
    wrapper = (RecognitionExport(model) if own == "rec" else DetectionExport(model)).eval()
    inputs: list[CheckInput] = rec_check_inputs(check_images) if own == "rec" else \
        det_check_inputs(w.meta.input or det_input_spec(), check_images)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.{os.getpid()}.tmp"
    try:
        traced, replaced = exportable_copy(wrapper)
        notes = _trace(traced, inputs[0].x, tmp, own, opset)
        if replaced:
            notes.append(f"exported {len(replaced)} nn.MultiheadAttention as shape-generic ExportAttention "
                         f"({', '.join(replaced[:3])}{', …' if len(replaced) > 3 else ''})")
        write_metadata(tmp, export_metadata(w, own, opset, tol), f"semiocr export of {w.describe()}")
        try:
            checks = _run_checks(tmp, wrapper, inputs, threads)
        except ValueError as e:
            raise ExportMismatchError(f"{w.describe()}: export refused, no file written: {e}") from None
        refused = _refusal(w, checks, tol, optimized_tolerance, notes)
        if refused:
            raise ExportMismatchError(refused)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    if own == "rec":
        notes += rapidocr_notes(w)
    return ExportReport(out, own, w.meta.arch, w.describe(), opset, out.stat().st_size,
                        sum(p.numel() for p in model.parameters()), tol, optimized_tolerance,
                        time.perf_counter() - t0, checks, notes)
