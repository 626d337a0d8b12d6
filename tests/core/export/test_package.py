"""Offline packages: built from the PP-OCRv4 presets, unzipped into a fresh venv without torch, they verify and
read the self-test page as the PyTorch pipeline does; a tampered file fails ``verify`` by name; the service needs
its token; ``--int8`` is kept when the recognizer's readings hold and refused, by how much, when they do not."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import httpx
import numpy as np
import onnx
import pytest
from runtime_venv import clean_env, make_runtime_venv
from typer.testing import CliRunner

from semiocr.cli.main import app
from semiocr.core.export.int8 import check_rec_int8
from semiocr.core.export.package import PackageError, build_package
from semiocr.core.export.samples import sample_lines
from semiocr.core.inference.pipeline import build_pipeline
from semiocr.runtime.images import decode_image_bytes
from semiocr.runtime.integrity import compare_lines, write_sums
from semiocr.runtime.offline import reading

DET, REC = "PP-OCRv4-mobile-det", "PP-OCRv4-mobile-rec"
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("single_thread")]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, object]:
    """The presets packaged (CLI), and the unzipped folder."""
    where = tmp_path_factory.mktemp("package")
    res = CliRunner().invoke(app, ["export", "package", "--det", DET, "--rec", REC, "--out", str(where / "ocr.zip"),
                                   "--threads", "1"])
    assert res.exit_code == 0, res.output
    unzipped = where / "unzipped"
    with zipfile.ZipFile(where / "ocr.zip") as z:
        z.extractall(unzipped)
    return where / "ocr.zip", unzipped, res.output


def _run(python: Path | str, root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(python), "-m", "semiocr_runtime", *args], cwd=root, env=clean_env(),
                          capture_output=True, text=True, timeout=600)


def test_the_package_holds_what_it_promises(built) -> None:
    zip_path, root, output = built
    names = zipfile.ZipFile(zip_path).namelist()
    assert {"models/det.onnx", "models/rec.onnx", "semiocr_runtime/__main__.py", "semiocr_runtime/offline.py",
            "semiocr_runtime/resources/ppocr_keys_v1.txt", "requirements.txt", "selftest/page_0.png",
            "selftest/expected.json", "package.json", "README.md", "SHA256SUMS"} <= set(names)
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    reqs = (root / "requirements.txt").read_text().splitlines()[1:]
    assert "onnxruntime==1.32.0" in reqs and "numpy==2.4.6" in reqs and not [r for r in reqs if "torch" in r]
    runtime_src = "".join(p.read_text() for p in (root / "semiocr_runtime").rglob("*.py"))
    assert "from semiocr_runtime." in runtime_src and "semiocr.runtime" not in runtime_src
    assert "import torch" not in runtime_src and "from semiocr." not in runtime_src
    manifest = json.loads((root / "package.json").read_text())
    assert manifest["models"]["rec"]["arch"] == REC and manifest["threads"] == 1 and manifest["int8"] == []
    assert manifest["export"]["rec"]["max_diff"] <= 1e-4 and manifest["export"]["det"]["max_diff"] <= 1e-4
    readme = (root / "README.md").read_text()
    assert "python -m semiocr_runtime verify" in readme and "--token-env" in readme and "Limits" in readme
    assert "self-test: 5 lines read alike" in output and "SHA256SUMS sha256" in output


def test_in_a_fresh_venv_without_torch_it_verifies_and_reads_like_pytorch(built, tmp_path_factory) -> None:
    _, root, _ = built
    python = make_runtime_venv(tmp_path_factory.mktemp("venv") / "v", root / "requirements.txt")
    no_torch = subprocess.run([str(python), "-c", "import torch"], capture_output=True, text=True, env=clean_env())
    assert no_torch.returncode != 0 and "No module named 'torch'" in no_torch.stderr
    no_semiocr = subprocess.run([str(python), "-c", "import semiocr"], capture_output=True, text=True,
                                env=clean_env())
    assert no_semiocr.returncode != 0
    verified = _run(python, root, "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "checksums: every file intact" in verified.stdout and "verify: OK" in verified.stdout
    read = _run(python, root, "ocr", "selftest/page_0.png", "--json")
    assert read.returncode == 0, read.stderr
    theirs = json.loads(read.stdout.strip().splitlines()[-1])["lines"]
    img = decode_image_bytes((root / "selftest" / "page_0.png").read_bytes())
    ours = reading(build_pipeline(DET, REC)(img))
    assert len(ours) == 5 and compare_lines(ours, theirs, 1.0) == []
    expected = json.loads((root / "selftest" / "expected.json").read_text())["images"][0]["lines"]
    assert [ln["text"] for ln in expected] == [ln["text"] for ln in ours]


def test_a_tampered_package_fails_verify_naming_the_file(built, tmp_path: Path) -> None:
    _, root, _ = built
    cases = {"models/rec.onnx": "checksum mismatch", "selftest/page_0.png": "missing",
             "semiocr_runtime/extra.py": "not listed in SHA256SUMS"}
    for rel, problem in cases.items():
        copy = shutil.copytree(root, tmp_path / rel.replace("/", "_"))
        target = copy / rel
        if problem == "checksum mismatch":
            data = bytearray(target.read_bytes())
            data[len(data) // 2] ^= 0xFF
            target.write_bytes(bytes(data))
        elif problem == "missing":
            target.unlink()
        else:
            target.write_text("print('injected')\n")
        res = _run(sys.executable, copy, "verify")
        assert res.returncode == 1 and f"FAILED {rel}: {problem}" in res.stdout, res.stdout + res.stderr


def test_a_changed_expectation_fails_the_self_test(built, tmp_path: Path) -> None:
    _, root, _ = built
    copy = shutil.copytree(root, tmp_path / "pkg")
    expected = json.loads((copy / "selftest" / "expected.json").read_text())
    expected["images"][0]["lines"][1]["text"] = "invoices"
    (copy / "selftest" / "expected.json").write_text(json.dumps(expected))
    write_sums(copy)  # a consistent package whose models do not give its expected output
    res = _run(sys.executable, copy, "verify")
    assert res.returncode == 1 and "FAILED selftest/page_0.png: line 2: read 'invoice', expected 'invoices'" in \
        res.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_from_the_unzipped_folder_requires_the_token(built) -> None:
    _, root, _ = built
    port, env = _free_port(), {**clean_env(), "SEMIOCR_TEST_PKG_TOKEN": "s3cret"}
    server = subprocess.Popen([sys.executable, "-m", "semiocr_runtime", "serve", "--port", str(port), "--threads", "1",
                               "--token-env", "SEMIOCR_TEST_PKG_TOKEN"], cwd=root, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None and time.monotonic() < deadline, "the service did not start"
            try:
                health = httpx.get(f"{url}/health", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.3)
        assert health.status_code == 200 and health.json()["models"]["rec"]["arch"] == REC
        page = {"file": ("p.png", (root / "selftest" / "page_0.png").read_bytes())}
        assert httpx.post(f"{url}/v1/ocr", files=page, timeout=60).status_code == 401
        assert httpx.post(f"{url}/v1/ocr", files=page, headers={"Authorization": "Bearer s3cre"},
                          timeout=60).status_code == 401
        ok = httpx.post(f"{url}/v1/ocr", files=page, headers={"Authorization": "Bearer s3cret"}, timeout=60)
        assert ok.status_code == 200
        assert [ln["text"] for ln in ok.json()["lines"]][:2] == ["source 42.50 ON-3", "invoice"]
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_int8_is_kept_when_the_recognizer_holds(tmp_path: Path) -> None:
    report = build_package(DET, REC, tmp_path / "int8.zip", int8=True, threads=1)
    rec, det = report.int8
    assert rec.accepted and rec.drop == 0 and rec.n >= 24 and 0.6 < rec.size_ratio < 0.8
    assert not det.accepted and "box corners moved by" in det.detail  # its boxes move by 2–3 px: kept float32
    assert "det int8: does not read the self-test pages like float32" in report.text()
    with zipfile.ZipFile(report.path) as z:
        manifest = json.loads(z.read("package.json"))
        props = {p.key: p.value for p in onnx.load_from_string(z.read("models/rec.onnx")).metadata_props}
    assert manifest["models"]["rec"]["int8"] and not manifest["models"]["det"]["int8"]
    assert json.loads(props["semiocr"])["int8"]["op_types"] == ["MatMul", "Gemm"] and props["character"]
    assert manifest["models"]["rec"]["size_bytes"] < 0.8 * report.rec.size_bytes
    assert report.selftest_lines == 5  # the int8 package reads the self-test page as PyTorch does


def test_int8_is_refused_when_readings_change(tiny_det: Path, tiny_rec: Path, tmp_path: Path) -> None:
    """rec-tiny (random init): its near-tied frames flip under int8, about a third of the lines read otherwise."""
    with pytest.raises(PackageError, match=r"--int8 refused: .* points of agreement with the float32 readings .* "
                                           r"missed by \d+\.\d points"):
        build_package(tiny_det, tiny_rec, tmp_path / "refused.zip", int8=True, threads=1)
    assert list(tmp_path.iterdir()) == []  # no zip, no staging folder
    res = CliRunner().invoke(app, ["export", "package", "--det", str(tiny_det), "--rec", str(tiny_rec), "--out",
                                   str(tmp_path / "cli.zip"), "--val", str(tmp_path)])
    assert res.exit_code == 2 and "use it with --int8" in res.output


def test_int8_with_a_validation_set_compares_accuracies(tiny_rec: Path, tmp_path: Path) -> None:
    from semiocr.core.export.int8 import REC_OPS, quantize
    from semiocr.core.export.onnx import export_onnx

    fp32 = export_onnx(tiny_rec, tmp_path / "rec.onnx", threads=1).path
    int8 = quantize(fp32, tmp_path / "rec.int8.onnx", REC_OPS)
    lines = sample_lines(12, seed=4)
    images, labels = [img for img, _ in lines], [t for _, t in lines]
    result = check_rec_int8(fp32, int8, images, labels, threads=1)
    assert result.measure == "exact-match accuracy on the validation set" and result.n == 12
    assert result.fp32_score == result.int8_score == 0.0 and result.accepted  # a random model: nothing to lose
    agreement = check_rec_int8(fp32, int8, images, None, threads=1)
    assert agreement.fp32_score == 100.0 and np.isclose(agreement.drop, 100.0 - agreement.int8_score)
