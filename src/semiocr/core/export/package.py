"""Offline OCR package: detector and recognizer weights → one zip that runs without torch or a network.

Layout (paths inside the zip)::

    models/det.onnx, models/rec.onnx   exported and checked (``core.export.onnx``), metadata embedded
    semiocr_runtime/                   the torch-free runtime, imports rewritten; ``python -m semiocr_runtime``
    requirements.txt                   pinned (our ``runtime`` extra; onnxruntime or onnxruntime-gpu)
    selftest/page_0.png, expected.json a generated page and the lines PyTorch AND ONNX Runtime read on it
    package.json, README.md, SHA256SUMS

The build fails (no zip written) when an export is refused, when ``--int8`` loses more accuracy than allowed
(``core.export.int8``), when the ONNX pipeline reads the self-test page differently from the PyTorch pipeline
(texts, or box corners by more than ``BOX_TOLERANCE`` px), or when the staged package does not pass its own
``verify`` in a fresh interpreter where importing torch or semiocr fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2

from semiocr import __version__
from semiocr.core.export import int8 as q
from semiocr.core.export.onnx import DEFAULT_OPSET, OPTIMIZED_TOLERANCE, ExportReport, export_onnx
from semiocr.core.export.package_files import GPU_REQUIREMENT, copy_runtime, requirements_text, write_zip
from semiocr.core.export.package_readme import gpu_note, render_readme
from semiocr.core.export.samples import sample_lines, sample_page
from semiocr.runtime.integrity import compare_lines, sha256_file, write_sums
from semiocr.runtime.offline import BOX_TOLERANCE, EXPECTED, MANIFEST, reading

SELFTEST_SEEDS = (5,)
PACKAGE_FORMAT = "semiocr.package/1"
_VERIFY_SCRIPT = r'''
import importlib.abc, runpy, sys
class Blocked(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in ("torch", "torchvision", "semiocr"):
            raise ImportError(f"{name} is not available to the package (blocked by the build check)")
sys.meta_path.insert(0, Blocked())
sys.argv = ["semiocr_runtime", "verify"]
runpy.run_module("semiocr_runtime", run_name="__main__", alter_sys=True)
'''


class PackageError(RuntimeError):
    """The package cannot be built as asked; nothing was written."""


@dataclass
class PackageReport:
    """What a build wrote: the zip, its checks and how long each step took."""

    path: Path
    size_bytes: int
    sha256: str
    sums_sha256: str
    runtime: str
    det: ExportReport
    rec: ExportReport
    selftest_lines: int
    int8: list[q.Int8Result] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    def text(self) -> str:
        """A few lines for the console."""
        out = [f"package {self.path} ({self.size_bytes / 1e6:.2f} MB, {self.runtime})",
               f"  sha256 {self.sha256}",
               f"  SHA256SUMS sha256 {self.sums_sha256} (publish it: `verify` checks every file against SHA256SUMS)",
               f"  det: {self.det.arch}, {self.det.size_bytes / 1e6:.2f} MB exported, max |Δprob| "
               f"{self.det.max_diff:.1e} / {self.det.max_diff_optimized:.1e} optimised",
               f"  rec: {self.rec.arch}, {self.rec.size_bytes / 1e6:.2f} MB exported, max |Δprob| "
               f"{self.rec.max_diff:.1e} / {self.rec.max_diff_optimized:.1e} optimised",
               f"  self-test: {self.selftest_lines} lines read alike by PyTorch and ONNX Runtime; the package verifies"]
        out += [f"  {r.text()}" for r in self.int8]
        out.append("  time: " + ", ".join(f"{k} {v:.1f} s" for k, v in self.seconds.items()))
        return "\n".join(out)


def _val_lines(val: str | Path) -> tuple[list, list[str]]:
    from semiocr.core.data.images import read_image
    from semiocr.core.data.labels import read_labelled

    samples = read_labelled(Path(val), "val.txt")
    return [read_image(s.path, s.source) for s in samples], [s.text or "" for s in samples]


def _selftest_crops(det_path: Path, pages: list) -> list:
    from semiocr.runtime.onnx_runner import OnnxDetector
    from semiocr.runtime.pipeline import rotate_crop

    detector, crops = OnnxDetector(det_path), []
    for page in pages:
        found = detector(page)
        crops += [rotate_crop(found.page, box) for box in found.page_boxes]
    return crops


def _int8(models: Path, pages: list, val: str | Path | None, threads: int | None) -> list[q.Int8Result]:
    """Quantise the recognizer (refused when it loses accuracy) and the detector (kept only if it holds)."""
    rec, det = models / "rec.onnx", models / "det.onnx"
    if val is not None:
        images, labels = _val_lines(val)
    else:
        images, labels = [img for img, _ in sample_lines(24, seed=11)] + _selftest_crops(det, pages), None
    rec_q = q.quantize(rec, models / "rec.int8.onnx", q.REC_OPS)
    rec_result = q.check_rec_int8(rec, rec_q, images, labels, threads)
    if not rec_result.accepted:
        raise PackageError(q.refusal_message(rec_result))
    det_q = q.quantize(det, models / "det.int8.onnx")
    det_result = q.check_det_int8(det, det_q, rec, pages, threads, BOX_TOLERANCE)
    os.replace(rec_q, rec)
    if det_result.accepted:
        os.replace(det_q, det)
    else:
        det_q.unlink()
        det_result.detail = "int8 moves its boxes: " + det_result.detail
    return [rec_result, det_result]


def _selftest(det: str | Path, rec: str | Path, root: Path, pages: list, threads: int | None,
              text_score: float) -> dict[str, Any]:
    """Read the self-test pages with PyTorch and with the staged ONNX models; the expected output, or
    ``PackageError`` when they differ or read nothing."""
    from semiocr.core.inference.pipeline import build_pipeline
    from semiocr.runtime.images import decode_image_bytes
    from semiocr.runtime.onnx_runner import load_pipeline

    torch_pipe = build_pipeline(det, rec, text_score=text_score)
    onnx_pipe = load_pipeline(root / "models" / "det.onnx", root / "models" / "rec.onnx", threads, text_score)
    (root / "selftest").mkdir(exist_ok=True)
    images = []
    for i, page in enumerate(pages):
        name = f"selftest/page_{i}.png"
        cv2.imwrite(str(root / name), page)
        img = decode_image_bytes((root / name).read_bytes(), name=name)  # as verify reads it
        ours, theirs = reading(torch_pipe(img)), reading(onnx_pipe(img))
        problems = compare_lines(ours, theirs, BOX_TOLERANCE)
        if problems:
            raise PackageError(f"self-test {name}: the ONNX pipeline reads it differently from the PyTorch "
                               f"pipeline: {'; '.join(problems[:5])}")
        if not theirs:
            raise PackageError(f"self-test {name}: the models read no line on the generated page; a self-test "
                               f"that reads nothing checks nothing")
        images.append({"image": name, "lines": theirs})
    return {"box_tolerance_px": BOX_TOLERANCE, "text_score": text_score, "images": images}


def _verify_staged(root: Path) -> None:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTHONPATH", None)
    proc = subprocess.run([sys.executable, "-c", _VERIFY_SCRIPT], cwd=root, env=env, capture_output=True,
                          text=True, timeout=600)
    if proc.returncode != 0:
        raise PackageError(f"the staged package fails its own verify (exit {proc.returncode}):\n"
                           f"{(proc.stdout + proc.stderr)[-3000:]}")


def _manifest(name: str, runtime: str, threads: int | None, text_score: float, det: ExportReport,
              rec: ExportReport, int8: list[q.Int8Result], root: Path) -> dict[str, Any]:
    accepted = {r.model for r in int8 if r.accepted}

    def model(kind: str, report: ExportReport) -> dict[str, Any]:
        path = root / "models" / f"{kind}.onnx"
        return {"file": f"models/{kind}.onnx", "arch": report.arch, "weights": report.weights,
                "int8": kind in accepted, "size_bytes": path.stat().st_size, "sha256": sha256_file(path)}

    return {"format": PACKAGE_FORMAT, "name": name, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "semiocr": __version__, "runtime": runtime, "threads": threads, "text_score": text_score,
            "models": {"det": model("det", det), "rec": model("rec", rec)},
            "export": {"det": det.to_dict(), "rec": rec.to_dict()}, "int8": [r.to_dict() for r in int8]}


def _semiocr_meta(path: Path) -> dict[str, Any]:
    import onnx

    props = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
    return json.loads(props["semiocr"])


def _readme(manifest: dict[str, Any], det: ExportReport, rec: ExportReport, int8: list[q.Int8Result],
            root: Path) -> str:
    num_classes = _semiocr_meta(root / "models" / "rec.onnx")["output"]["shape"][-1]
    limit = _semiocr_meta(root / "models" / "det.onnx")["input"]
    models = manifest["models"]
    notes = "".join(f"  - {r.text()}\n" for r in int8)
    return render_readme({
        "name": manifest["name"], "version": __version__, "created": manifest["created"], "det_arch": det.arch,
        "rec_arch": rec.arch, "det_int8": ", int8" if models["det"]["int8"] else "",
        "rec_int8": ", int8" if models["rec"]["int8"] else "", "runtime": manifest["runtime"],
        "gpu_note": gpu_note(manifest["runtime"], GPU_REQUIREMENT), "box_tol": BOX_TOLERANCE,
        "sums_note": "the build prints it", "limit_side": limit.get("limit_side_len", 736),
        "text_score": manifest["text_score"], "num_classes": num_classes,
        "threads": manifest["threads"] or "ONNX Runtime's default (all cores)", "rec_diff": rec.max_diff,
        "det_diff": det.max_diff, "rec_tol": rec.tolerance, "det_tol": det.tolerance, "opt_tol": OPTIMIZED_TOLERANCE,
        "int8_note": ("- int8 (dynamic quantisation):\n" + notes) if int8 else ""})


def _write_docs(root: Path, manifest: dict[str, Any], det: ExportReport, rec: ExportReport,
                int8: list[q.Int8Result]) -> None:
    (root / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    (root / "README.md").write_text(_readme(manifest, det, rec, int8, root), encoding="utf-8")


def build_package(det: str | Path, rec: str | Path, out: str | Path, runtime: str = "onnxruntime-cpu",
                  int8: bool = False, threads: int | None = None, val: str | Path | None = None,
                  opset: int = DEFAULT_OPSET, text_score: float = 0.5) -> PackageReport:
    """Build the offline package ``out`` (a zip) from detector and recognizer weights (any weights name); see
    the module for what it holds and when the build fails (``PackageError``, ``ExportError``; nothing written)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    requirements = requirements_text(runtime)  # fails early on a bad --runtime
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    seconds: dict[str, float] = {}
    t = time.perf_counter()
    try:
        models = staging / "models"
        det_report = export_onnx(det, models / "det.onnx", kind="det", opset=opset, threads=threads)
        rec_report = export_onnx(rec, models / "rec.onnx", kind="rec", opset=opset, threads=threads)
        det_report.path, rec_report.path = Path("models/det.onnx"), Path("models/rec.onnx")  # inside the package
        seconds["export"], t = time.perf_counter() - t, time.perf_counter()
        pages = [sample_page(seed)[0] for seed in SELFTEST_SEEDS]
        int8_results = _int8(models, pages, val, threads) if int8 else []
        if int8:
            seconds["int8"], t = time.perf_counter() - t, time.perf_counter()
        expected = _selftest(det, rec, staging, pages, threads, text_score)
        seconds["self-test"], t = time.perf_counter() - t, time.perf_counter()
        copy_runtime(staging)
        (staging / "requirements.txt").write_text(requirements, encoding="utf-8")
        (staging / EXPECTED).write_text(json.dumps(expected, ensure_ascii=False, indent=1), encoding="utf-8")
        manifest = _manifest(out.stem, runtime, threads, text_score, det_report, rec_report, int8_results, staging)
        _write_docs(staging, manifest, det_report, rec_report, int8_results)
        sums = write_sums(staging)
        _verify_staged(staging)
        seconds["verify"], t = time.perf_counter() - t, time.perf_counter()
        write_zip(staging, out)
        seconds["zip"] = time.perf_counter() - t
        lines = sum(len(item["lines"]) for item in expected["images"])
        return PackageReport(out, out.stat().st_size, sha256_file(out), sha256_file(sums), runtime, det_report,
                             rec_report, lines, int8_results, seconds)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
