"""``pyproject.toml``: the ``runtime`` extra installs every third-party package that ``semiocr.runtime`` imports,
pinned as in the main dependencies, and no torch."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _pins(requirements: list[str]) -> dict[str, str]:
    """``name==version`` lines → {normalised name: version}."""
    out = {}
    for req in requirements:
        name, _, version = req.partition("==")
        out[re.sub(r"[-_.]+", "-", name.strip()).lower()] = version.strip()
    return out


def _runtime_third_party_imports() -> set[str]:
    found = set()
    for path in (ROOT / "src" / "semiocr" / "runtime").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(a.name.partition(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module.partition(".")[0])
    return {m for m in found if m != "semiocr" and m not in sys.stdlib_module_names}


def test_runtime_extra_covers_the_runtime_imports_with_the_main_pins() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    main = _pins(project["dependencies"])
    runtime = _pins(project["optional-dependencies"]["runtime"])
    assert {k: main.get(k) for k in runtime} == runtime  # same packages, same versions as the full install
    assert "torch" not in runtime and "onnxruntime" in runtime
    dists = packages_distributions()
    imports = _runtime_third_party_imports()
    assert {"numpy", "cv2", "pyclipper"} <= imports
    # an import is covered when one of the distributions that provide it is in the extra (cv2: both OpenCV builds)
    missing = {m for m in imports if not {re.sub(r"[-_.]+", "-", d).lower() for d in dists[m]} & set(runtime)}
    assert not missing, f"imported by semiocr.runtime but not in the runtime extra: {missing}"
