"""The offline package's integrity checks (torch-free runtime): ``SHA256SUMS`` names each changed, missing or added
file; two readings of a page compare by text and by box corners; the service token is compared exactly."""

from __future__ import annotations

from pathlib import Path

import pytest

from semiocr.runtime.integrity import SUMS_FILE, check_sums, compare_lines, read_sums, write_sums
from semiocr.runtime.offline import main, token_authorizer


def _package(root: Path) -> Path:
    for rel, data in {"models/rec.onnx": b"rec", "models/det.onnx": b"det", "semiocr_runtime/a.py": b"x = 1\n",
                      "README.md": b"readme"}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    write_sums(root)
    return root


def test_sums_cover_every_file_in_sha256sum_format(tmp_path: Path) -> None:
    root = _package(tmp_path)
    (root / "semiocr_runtime" / "__pycache__").mkdir()
    (root / "semiocr_runtime" / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"cache")
    sums = read_sums(root)
    assert sorted(sums) == ["README.md", "models/det.onnx", "models/rec.onnx", "semiocr_runtime/a.py"]
    line = (root / SUMS_FILE).read_text().splitlines()[0]
    assert line.split("  ")[1] == "README.md" and len(line.split("  ")[0]) == 64  # `sha256sum -c` reads it
    assert check_sums(root) == []  # byte-code caches are not the package's files


def test_changed_missing_and_added_files_are_named(tmp_path: Path) -> None:
    root = _package(tmp_path)
    (root / "models" / "rec.onnx").write_bytes(b"tampered")
    (root / "models" / "det.onnx").unlink()
    (root / "semiocr_runtime" / "evil.py").write_text("import os\n")
    (root / "my_scan.png").write_bytes(b"the user's own image")  # outside the guarded folders: fine
    assert check_sums(root) == [
        "models/det.onnx: missing",
        "models/rec.onnx: checksum mismatch (the file was changed or damaged)",
        "semiocr_runtime/evil.py: not listed in SHA256SUMS (a file was added to the package)",
    ]


def test_malformed_or_escaping_sums_fail(tmp_path: Path) -> None:
    root = _package(tmp_path)
    (root / SUMS_FILE).write_text(f"{'0' * 64}  ../outside.txt\n")
    assert check_sums(root) == ["SHA256SUMS:1: path '../outside.txt' leaves the package"]
    (root / SUMS_FILE).unlink()
    assert check_sums(root) == ["SHA256SUMS: missing; the package cannot be checked"]


def test_verify_fails_on_a_tampered_package_before_loading_models(tmp_path: Path, capsys) -> None:
    root = _package(tmp_path)
    (root / "models" / "rec.onnx").write_bytes(b"tampered")
    assert main(["verify"], root=root) == 1
    out = capsys.readouterr().out
    assert "FAILED models/rec.onnx: checksum mismatch" in out and "1 file problem(s)" in out


def test_compare_lines() -> None:
    a = [{"text": "Total", "polygon": [[0, 0], [10, 0], [10, 5], [0, 5]]}]
    moved = [{"text": "Total", "polygon": [[0.9, 0], [10, 0], [10, 5], [0, 5]]}]
    far = [{"text": "Tota1", "polygon": [[1.5, 0], [10, 0], [10, 5], [0, 5]]}]
    assert compare_lines(a, moved, 1.0) == []
    assert compare_lines(a, far, 1.0) == ["line 1: read 'Tota1', expected 'Total'",
                                          "line 1 ('Total'): box corners moved by 1.50 px (tolerance 1 px)"]
    assert compare_lines(a, [], 1.0) == ["0 lines read, 1 expected: [] vs ['Total']"]


def test_token_authorizer() -> None:
    authorize = token_authorizer("s3cret-token")
    authorize("s3cret-token")
    with pytest.raises(PermissionError, match="bearer token is required"):
        authorize(None)
    for wrong in ("s3cret-toke", "s3cret-token2", "", "ß3cret-token"):
        with pytest.raises(PermissionError, match="unknown token"):
            authorize(wrong)
    with pytest.raises(ValueError, match="empty"):
        token_authorizer("")


def test_serve_refuses_an_unset_token_variable(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("SEMIOCR_TEST_NO_SUCH_TOKEN", raising=False)
    assert main(["serve", "--token-env", "SEMIOCR_TEST_NO_SUCH_TOKEN"], root=tmp_path) == 2
    assert "SEMIOCR_TEST_NO_SUCH_TOKEN: the variable is unset or empty" in capsys.readouterr().out
