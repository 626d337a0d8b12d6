"""The package's files besides the models: the runtime's self-contained copy and the pinned requirements."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from semiocr.core.export.package_files import (
    GPU_REQUIREMENT,
    PackageFilesError,
    copy_runtime,
    forbidden_imports,
    requirements_text,
    rewrite_imports,
    runtime_requirements,
)

ROOT = Path(__file__).resolve().parents[3]


def test_requirements_are_the_runtime_extra_pins_without_torch() -> None:
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["runtime"]
    cpu = runtime_requirements("onnxruntime-cpu")
    assert sorted(cpu, key=str.lower) == sorted(extra, key=str.lower) and "onnxruntime==1.32.0" in cpu
    gpu = runtime_requirements("onnxruntime-gpu")
    assert GPU_REQUIREMENT in gpu and not [r for r in gpu if r.startswith("onnxruntime==")]
    assert set(gpu) - {GPU_REQUIREMENT} == set(cpu) - {"onnxruntime==1.32.0"}
    assert not [r for r in cpu + gpu if "torch" in r] and all("==" in r for r in cpu + gpu)
    assert requirements_text("onnxruntime-cpu").startswith("# semiocr offline package")
    with pytest.raises(PackageFilesError, match="--runtime 'tensorrt'"):
        runtime_requirements("tensorrt")


def test_imports_are_rewritten_and_outside_imports_caught() -> None:
    src = "from semiocr.runtime.charset import Charset\nimport semiocr.runtime.ctc as c\n'see semiocr.runtime'\n"
    assert rewrite_imports(src) == ("from semiocr_runtime.charset import Charset\nimport semiocr_runtime.ctc as c\n"
                                    "'see semiocr_runtime'\n")
    bad = "import torch\nfrom semiocr.core.weights import load\nfrom . import x\nimport semiocr_runtime.ctc\n"
    assert forbidden_imports(bad, "m.py") == ["m.py:1: imports torch", "m.py:2: imports semiocr.core.weights"]


def test_the_runtime_copy_imports_without_semiocr_or_torch(tmp_path: Path) -> None:
    files = copy_runtime(tmp_path)
    assert "semiocr_runtime/__main__.py" in files and "semiocr_runtime/resources/ppocr_keys_v1.txt" in files
    assert not [f for f in files if "__pycache__" in f]
    script = ("import importlib.abc, sys\n"
              "class B(importlib.abc.MetaPathFinder):\n"
              "    def find_spec(self, name, path=None, target=None):\n"
              "        if name.partition('.')[0] in ('torch', 'semiocr'):\n"
              "            raise ImportError(name)\n"
              "sys.meta_path.insert(0, B())\n"
              "import pkgutil, importlib, semiocr_runtime\n"
              "for m in pkgutil.walk_packages(semiocr_runtime.__path__, 'semiocr_runtime.'):\n"
              "    if not m.name.endswith('__main__'):\n"
              "        importlib.import_module(m.name)\n"
              "from semiocr_runtime.charset import Charset\n"
              "print(Charset.ppocr_default().num_classes)\n")
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "6625"  # resources travel with the copy
    help_ = subprocess.run([sys.executable, "-m", "semiocr_runtime", "--help"], cwd=tmp_path, capture_output=True,
                           text=True, timeout=120)
    assert help_.returncode == 0 and "verify" in help_.stdout and "serve" in help_.stdout
