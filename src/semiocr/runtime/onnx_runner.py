"""ONNX Runtime runners: what the offline package and the OCR service run (no torch). Sessions are created once;
thread counts are explicit; recognition crops are batched by width; the charset and the input spec come from the
model's metadata (``semiocr``: JSON written by ``semiocr export onnx``; else RapidOCR's ``character`` entry), so a
model never meets a mismatched dict."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from semiocr.runtime.charset import Charset
from semiocr.runtime.det_postprocess import DBPostprocessConfig
from semiocr.runtime.pipeline import DBDetector, OcrPipeline
from semiocr.runtime.recognition import LineReader

META_KEY = "semiocr"  # ONNX metadata entry holding the weights' self-description (JSON)


def make_session(path: str | Path, threads: int | None = None, providers: Sequence[str] | None = None):
    """An ``onnxruntime.InferenceSession`` (``threads``: intra-op threads, None = onnxruntime's default)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), opts, providers=list(providers or ["CPUExecutionProvider"]))


def model_meta(session: Any) -> dict[str, Any]:
    """The ``semiocr`` metadata of a session's model (``{}`` for models exported elsewhere)."""
    props = session.get_modelmeta().custom_metadata_map
    return json.loads(props[META_KEY]) if META_KEY in props else {}


def charset_of(session: Any, path: str | Path) -> Charset:
    """The recognizer's charset: from ``semiocr`` metadata, else RapidOCR's ``character`` list (+ space)."""
    meta = model_meta(session)
    if meta.get("charset"):
        return Charset.from_dict(meta["charset"])
    props = session.get_modelmeta().custom_metadata_map
    if "character" in props:
        return Charset(tuple(props["character"].split("\n")), use_space=True)
    raise ValueError(f"{path}: the model carries no charset (metadata 'semiocr' or 'character'); export it with "
                     f"`semiocr export onnx`")


class OnnxRecognizer(LineReader):
    """A recognition ONNX model (input ``[N, 3, 48, W]``, output softmax ``[N, T, C]``)."""

    def __init__(self, path: str | Path, threads: int | None = 1, batch_size: int = 6, max_width: int | None = None,
                 rotate_180: bool = False, providers: Sequence[str] | None = None):
        self.session = make_session(path, threads, providers)
        super().__init__(charset_of(self.session, path), batch_size, max_width, rotate_180)
        self.path, self.meta = Path(path), model_meta(self.session)
        self._input = self.session.get_inputs()[0].name
        width = self.session.get_outputs()[0].shape[-1]
        if isinstance(width, int) and width != self.charset.num_classes:
            raise ValueError(f"{path}: the model has {width} classes, its charset {self.charset.num_classes}")

    def probs_of_batch(self, x: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self._input: x})[0]


class OnnxDetector(DBDetector):
    """A DB detection ONNX model (input ``[1, 3, H, W]``, output probability map ``[1, 1, H, W]``)."""

    def __init__(self, path: str | Path, threads: int | None = 1, post: DBPostprocessConfig | None = None,
                 input_spec: Mapping | None = None, providers: Sequence[str] | None = None):
        self.session = make_session(path, threads, providers)
        self.path, self.meta = Path(path), model_meta(self.session)
        super().__init__(input_spec if input_spec is not None else self.meta.get("input"), post=post)
        self._input = self.session.get_inputs()[0].name

    def prob_map(self, page: np.ndarray) -> np.ndarray:
        out = self.session.run(None, {self._input: self.network_input(page)})[0]
        return out[0, 0] if out.ndim == 4 else out[0]


def load_pipeline(det: str | Path, rec: str | Path, threads: int | None = 1, text_score: float = 0.5,
                  rotate_180: bool = False, providers: Sequence[str] | None = None) -> OcrPipeline:
    """Full-page OCR from two ONNX files (crops read in batches of 6 sorted by aspect ratio, as RapidOCR)."""
    return OcrPipeline(OnnxDetector(det, threads, providers=providers),
                       OnnxRecognizer(rec, threads, rotate_180=rotate_180, providers=providers), text_score)
