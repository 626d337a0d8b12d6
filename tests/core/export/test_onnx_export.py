"""``export_onnx``: tiny weights → checked ONNX files whose metadata the runtime reads, with dynamic batch and
width (height); an export whose graph differs from the model is refused and leaves no file."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from torch import nn
from typer.testing import CliRunner

from semiocr.cli.main import app
from semiocr.core.export.onnx import (
    DET_TOLERANCE,
    REC_TOLERANCE,
    ExportError,
    ExportMismatchError,
    export_onnx,
)
from semiocr.core.export.samples import sample_lines
from semiocr.core.inference.recognizer import Recognizer
from semiocr.core.models.registry import build_model, registered_models
from semiocr.core.weights.checkpoint import CheckpointMeta, rec_input_spec, save_checkpoint
from semiocr.runtime.charset import Charset
from semiocr.runtime.onnx_runner import OnnxDetector, OnnxRecognizer

pytestmark = pytest.mark.usefixtures("single_thread")


@pytest.fixture(scope="module")
def rec_onnx(tiny_rec: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("rec_onnx") / "rec.onnx"
    return out, export_onnx(tiny_rec, out, threads=1)


def _props(path: Path) -> dict[str, str]:
    return {p.key: p.value for p in onnx.load(str(path)).metadata_props}


def test_rec_export_report_and_metadata_round_trip(rec_onnx, tiny_rec: Path, tiny_charset: Charset) -> None:
    path, report = rec_onnx
    assert report.kind == "rec" and report.arch == "rec-tiny" and report.size_bytes == path.stat().st_size > 0
    assert report.max_diff <= REC_TOLERANCE and len(report.checks) >= 7  # 6 lines alone, then as one batch
    assert any("ExportAttention" in n for n in report.notes)  # rec-tiny's attention, traced shape-generic
    assert {c.input_shape[0] for c in report.checks} == {1, 6} and len({c.input_shape[3] for c in report.checks}) > 3
    props = _props(path)
    meta = json.loads(props["semiocr"])
    assert meta["arch"] == "rec-tiny" and meta["kind"] == "rec" and meta["task"] == "supervised"
    assert meta["parent"] == str(tiny_rec.resolve()) and len(meta["parent_sha256"]) == 64
    assert meta["dataset_hash"] == "d" * 16 and meta["weights_parent"] == "runs/warmup/checkpoints/best.pt"
    assert meta["input"]["height"] == 48 and meta["input"]["mean"] == [0.5] * 3 and meta["input"]["color"] == "BGR"
    assert meta["output"] == {"name": "probs", "shape": ["N", "T", tiny_charset.num_classes], "kind": "softmax"}
    assert meta["opset"] == 17 and meta["exported"].endswith("Z") and meta["versions"]["torch"]
    # RapidOCR's reading of `character`: split lines, append the space, blank first = our class layout
    assert ["blank", *props["character"].splitlines(), " "] == ["blank", *tiny_charset.classes[1:]]
    runner = OnnxRecognizer(path)
    assert runner.charset == tiny_charset and runner.meta["charset"]["fingerprint"] == tiny_charset.fingerprint


def test_onnx_reads_lines_like_the_pytorch_recognizer(rec_onnx, tiny_rec: Path) -> None:
    images = [img for img, _ in sample_lines(5, seed=3)]
    ours = Recognizer.from_weights(tiny_rec, device="cpu", batch_size=6).predict(images)
    theirs = OnnxRecognizer(rec_onnx[0], batch_size=6).predict(images)
    assert [d.text for d in theirs] == [d.text for d in ours]
    np.testing.assert_allclose([d.confidence for d in theirs], [d.confidence for d in ours], atol=1e-4)


def test_rec_dynamic_batch_and_width(rec_onnx, tiny_charset: Charset) -> None:
    session = ort.InferenceSession(str(rec_onnx[0]), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["x"]
    for n, w in [(1, 320), (3, 320), (2, 1000), (1, 1600)]:
        x = np.random.default_rng(w).uniform(-1, 1, (n, 3, 48, w)).astype(np.float32)
        (probs,) = session.run(None, {"x": x})
        assert probs.shape == (n, w // 8, tiny_charset.num_classes)
        np.testing.assert_allclose(probs.sum(axis=2), 1.0, atol=1e-5)  # a softmax, not logits


def test_det_export_dynamic_sizes_and_input_spec(tiny_det: Path, tmp_path: Path) -> None:
    out = tmp_path / "det.onnx"
    report = export_onnx(tiny_det, out, threads=1)
    assert report.kind == "det" and report.max_diff <= DET_TOLERANCE
    assert [c.input_shape for c in report.checks][:2] == [[2, 3, 256, 384], [1, 3, 480, 640]]  # limit 640, max
    meta = json.loads(_props(out)["semiocr"])
    assert "character" not in _props(out) and meta["charset"] is None
    assert meta["input"]["limit_side_len"] == 640 and meta["input"]["limit_type"] == "max"
    detector = OnnxDetector(out)
    assert detector.pre.limit_side_len == 640 and detector.pre.limit_type == "max"
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    for shape in [(1, 3, 64, 96), (3, 3, 320, 160)]:
        (prob,) = session.run(None, {"x": np.zeros(shape, np.float32)})
        assert prob.shape == (shape[0], 1, *shape[2:]) and 0 <= prob.min() <= prob.max() <= 1


def test_check_images_are_checked_too(tiny_rec: Path, tmp_path: Path) -> None:
    images = tmp_path / "lines"
    images.mkdir()
    for i, (img, _) in enumerate(sample_lines(2, seed=9)):
        cv2.imwrite(str(images / f"line_{i}.png"), img)
    (images / "notes.txt").write_text("not an image")
    report = export_onnx(tiny_rec, tmp_path / "rec.onnx", check_images=images, threads=1)
    assert [c.name for c in report.checks][-2:] == [str(images / "line_0.png"), str(images / "line_1.png")]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="no images"):
        export_onnx(tiny_rec, tmp_path / "rec2.onnx", check_images=empty)
    assert not (tmp_path / "rec2.onnx").exists()


def test_wrong_kind_is_an_error(tiny_rec: Path, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match=r"a recognizer \(rec-tiny\), not --kind det"):
        export_onnx(tiny_rec, tmp_path / "x.onnx", kind="det")
    assert list(tmp_path.iterdir()) == []


class WidthBranch(nn.Module):
    """A recognizer whose forward takes a Python branch on the input width: tracing bakes the branch of the
    example (width 320) into the graph, so ONNX Runtime and PyTorch part ways on wider lines."""

    def __init__(self, num_classes: int):
        super().__init__()
        self.inner = build_model("rec-tiny", num_classes=num_classes)
        self.head = self.inner.head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.inner(x)
        if x.shape[3] > 400:
            logits = logits * 3.0
        return logits


def test_a_graph_that_differs_from_the_model_is_refused_and_leaves_no_file(tmp_path: Path,
                                                                           tiny_charset: Charset) -> None:
    with registered_models({"rec-width-branch": WidthBranch}):
        torch.manual_seed(1)
        model = build_model("rec-width-branch", num_classes=tiny_charset.num_classes)
        ckpt = save_checkpoint(tmp_path / "branch.pt", CheckpointMeta(arch="rec-width-branch", charset=tiny_charset
                                                                      .to_dict(), input=rec_input_spec()),
                               model.state_dict())
        out = tmp_path / "out" / "rec.onnx"
        out.parent.mkdir()
        out.write_bytes(b"previous export")
        with pytest.raises(ExportMismatchError) as refused:
            export_onnx(ckpt, out, threads=1)
    message = str(refused.value)
    assert "export refused, no file written" in message and "tolerance 1e-04" in message
    assert "generated line" in message and "tracer warning" in message  # names the input and the likely cause
    assert out.read_bytes() == b"previous export" and sorted(p.name for p in out.parent.iterdir()) == ["rec.onnx"]


def test_cli_export_onnx_prints_the_report_and_refuses_a_wrong_kind(tiny_det: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["export", "onnx", str(tiny_det), "--out", str(tmp_path / "det.onnx"), "--threads", "1"])
    assert res.exit_code == 0, res.output
    assert "exported detector PP-OCRv4-mobile-det-tiny" in res.output and "max |Δprob|" in res.output
    assert "generated page: [1, 3, 480, 640]" in res.output and (tmp_path / "det.onnx").is_file()
    res = runner.invoke(app, ["export", "onnx", str(tiny_det), "--out", str(tmp_path / "r.onnx"), "--kind", "rec"])
    assert res.exit_code == 2 and "a detector (PP-OCRv4-mobile-det-tiny), not --kind rec" in res.output
