"""Dynamic int8 quantisation of exported models (``onnxruntime.quantization.quantize_dynamic``: int8 weights,
activations quantised on the fly), kept only when accuracy holds.

Recognizer: its MatMul/Gemm layers (SVTR neck, CTC head) are quantised; its convolutions stay float32 —
dynamically quantised (per-tensor activations), the re-parameterised convolutions of PP-OCRv4 mobile lose every
line (measured: 0 % agreement with float32 on generated lines), while MatMul/Gemm alone agree on 100 % at 0.72x
the size. With a validation set (``val.txt`` of a dataset: ``path<TAB>label``), exact-match accuracy of the int8
model may drop by at most ``MAX_DROP_POINTS`` (1 point) below the float32 model's. Without one, the measure is the
agreement of int8 and float32 readings on the self-test lines and generated lines: the share of lines read
differently may be at most 1 point (one line in 100). Otherwise ``--int8`` is refused, saying by how much it missed.

Detector: every layer is quantised (0.30x the size); the int8 detector replaces the float32 one only if, chained
with the float32 recognizer, it reads the self-test pages identically (same texts, box corners within
``box_tolerance`` px); else it stays float32 (said in the report, not a refusal). PP-OCRv4 mobile's does not hold
(corners move by 2–3 px).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from semiocr.runtime.integrity import compare_lines

MAX_DROP_POINTS = 1.0  # exact-match accuracy (or agreement with float32) points the int8 recognizer may lose
REC_OPS = ("MatMul", "Gemm")  # the recognizer's quantised operators (see the module)


class Int8Refused(RuntimeError):
    """The int8 recognizer loses more accuracy than the tolerance allows."""


@dataclass
class Int8Result:
    """One model's int8 decision: the measure, both scores (percent), the drop and the sizes."""

    model: str  # rec | det
    accepted: bool
    measure: str
    fp32_score: float
    int8_score: float
    tolerance: float
    n: int
    fp32_bytes: int
    int8_bytes: int
    detail: str = ""

    @property
    def drop(self) -> float:
        return self.fp32_score - self.int8_score

    @property
    def size_ratio(self) -> float:
        return self.int8_bytes / self.fp32_bytes if self.fp32_bytes else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "accepted": self.accepted, "measure": self.measure,
                "fp32_score": round(self.fp32_score, 3), "int8_score": round(self.int8_score, 3),
                "drop_points": round(self.drop, 3), "tolerance_points": self.tolerance, "n": self.n,
                "fp32_bytes": self.fp32_bytes, "int8_bytes": self.int8_bytes, "size_ratio": round(self.size_ratio, 3),
                "detail": self.detail}

    def text(self) -> str:
        verdict = "int8 kept" if self.accepted else "float32 kept"
        if self.model == "det":
            alike = "reads" if self.accepted else "does not read"
            return (f"det int8: {alike} the self-test pages like float32 ({self.measure}); size "
                    f"{self.int8_bytes / 1e6:.2f} MB = {self.size_ratio:.2f} x float32; {verdict}"
                    + (f"; {self.detail}" if self.detail else ""))
        return (f"{self.model} int8: {self.measure}: float32 {self.fp32_score:.1f} %, int8 {self.int8_score:.1f} % "
                f"over {self.n} (drop {self.drop:.1f} points, tolerance {self.tolerance:g}); size "
                f"{self.int8_bytes / 1e6:.2f} MB = {self.size_ratio:.2f} x float32; {verdict}"
                + (f"; {self.detail}" if self.detail else ""))


def quantize(src: Path, dst: Path, op_types: Sequence[str] | None = None) -> Path:
    """Dynamic int8 quantisation of ``src`` into ``dst`` (``op_types``: the operators to quantise, None = all
    that onnxruntime can), keeping ``src``'s metadata (charset, input spec)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8,
                     op_types_to_quantize=list(op_types) if op_types else None)
    props = {p.key: p.value for p in onnx.load(str(src), load_external_data=False).metadata_props}
    model = onnx.load(str(dst))
    del model.metadata_props[:]
    for key, value in props.items():
        if key == "semiocr":
            doc = json.loads(value)
            doc["int8"] = {"method": "onnxruntime.quantization.quantize_dynamic", "weight_type": "QInt8",
                           "op_types": list(op_types) if op_types else "all"}
            value = json.dumps(doc, ensure_ascii=False, sort_keys=True)
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(dst))
    return dst


def _read(path: Path, images: Sequence[np.ndarray], threads: int | None) -> list[str]:
    from semiocr.runtime.onnx_runner import OnnxRecognizer

    return [d.text for d in OnnxRecognizer(path, threads=threads, batch_size=6).predict(list(images))]


def check_rec_int8(fp32: Path, int8: Path, images: Sequence[np.ndarray], labels: Sequence[str] | None = None,
                   threads: int | None = None, tolerance: float = MAX_DROP_POINTS) -> Int8Result:
    """Compare the two recognizers on ``images``: exact-match accuracy against ``labels`` when given, else the
    agreement of their readings (see the module)."""
    if not images:
        raise ValueError("no lines to check the int8 recognizer on")
    ref, got = _read(fp32, images, threads), _read(int8, images, threads)
    n = len(images)
    if labels is not None:
        fp32_score = 100.0 * sum(a == b for a, b in zip(ref, labels, strict=True)) / n
        int8_score = 100.0 * sum(a == b for a, b in zip(got, labels, strict=True)) / n
        measure = "exact-match accuracy on the validation set"
    else:
        fp32_score, int8_score = 100.0, 100.0 * sum(a == b for a, b in zip(ref, got, strict=True)) / n
        measure = "agreement with the float32 readings"
    diff = [f"{a!r} → {b!r}" for a, b in zip(ref, got, strict=True) if a != b][:3]
    return Int8Result("rec", fp32_score - int8_score <= tolerance + 1e-9, measure, fp32_score, int8_score,
                      tolerance, n, fp32.stat().st_size, int8.stat().st_size,
                      f"readings that changed: {', '.join(diff)}" if diff else "")


def refusal_message(result: Int8Result) -> str:
    """Why ``--int8`` is refused, and by how much it missed."""
    return (f"--int8 refused: the int8 recognizer loses {result.drop:.1f} points of {result.measure} "
            f"({result.fp32_score:.1f} % → {result.int8_score:.1f} % over {result.n} lines); the tolerance is "
            f"{result.tolerance:g} point, missed by {result.drop - result.tolerance:.1f} points"
            + (f" ({result.detail})" if result.detail else ""))


def check_det_int8(fp32_det: Path, int8_det: Path, rec: Path, pages: Sequence[np.ndarray],
                   threads: int | None = None, box_tolerance: float = 1.0) -> Int8Result:
    """Does the int8 detector read ``pages`` like the float32 one (both with the recognizer ``rec``)?"""
    from semiocr.runtime.offline import reading
    from semiocr.runtime.onnx_runner import load_pipeline

    ref_pipe = load_pipeline(fp32_det, rec, threads=threads)
    int8_pipe = load_pipeline(int8_det, rec, threads=threads)
    problems = []
    for i, page in enumerate(pages):
        problems += [f"page {i}: {p}" for p in compare_lines(reading(ref_pipe(page)), reading(int8_pipe(page)),
                                                              box_tolerance)]
    n = len(pages)
    same = 100.0 * (n - len({p.split(":")[0] for p in problems})) / n if n else 0.0
    return Int8Result("det", not problems, f"same texts, box corners within {box_tolerance:g} px",
                      100.0, same, 0.0, n, fp32_det.stat().st_size, int8_det.stat().st_size,
                      "; ".join(problems[:3]))
