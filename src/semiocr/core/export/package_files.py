"""The files of an offline package besides the models: the runtime's copy (imports rewritten from
``semiocr.runtime`` to ``semiocr_runtime``), its ``__main__``, the pinned requirements, and the zip writer."""

from __future__ import annotations

import ast
import os
import re
import sys
import zipfile
from importlib.metadata import PackageNotFoundError, requires
from pathlib import Path

import semiocr.runtime
from semiocr.runtime.integrity import SUMS_FILE, package_files

RUNTIME_PACKAGE = "semiocr_runtime"
RUNTIMES = ("onnxruntime-cpu", "onnxruntime-gpu")
#: onnxruntime-gpu's newest release on PyPI (1.31.1) trails the CPU package's pin (1.32.0): GPU packages pin it
GPU_REQUIREMENT = "onnxruntime-gpu==1.31.1"
FORBIDDEN_IMPORTS = ("semiocr", "torch", "torchvision")
ZIP_DATE = (2020, 1, 1, 0, 0, 0)  # every entry's timestamp: the same inputs give the same zip

MAIN_PY = '''"""python -m semiocr_runtime verify | ocr IMAGE... [--json] | serve [--host H --port P --token-env VAR]"""

import sys

from semiocr_runtime.offline import main

sys.exit(main())
'''


class PackageFilesError(RuntimeError):
    """The runtime cannot be copied as a self-contained package, or its requirements cannot be pinned."""


def rewrite_imports(source: str) -> str:
    """``semiocr.runtime`` → ``semiocr_runtime`` everywhere in a module's source (imports and text)."""
    return re.sub(r"\bsemiocr\.runtime\b", RUNTIME_PACKAGE, source)


def forbidden_imports(source: str, name: str) -> list[str]:
    """``file:line: import X`` for each import of semiocr, torch or torchvision in ``source``."""
    bad = []
    for node in ast.walk(ast.parse(source, name)):
        targets = [a.name for a in node.names] if isinstance(node, ast.Import) else \
            [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else []
        bad += [f"{name}:{node.lineno}: imports {t}" for t in targets if t.partition(".")[0] in FORBIDDEN_IMPORTS]
    return bad


def copy_runtime(dst: Path) -> list[str]:
    """Copy ``semiocr.runtime`` (modules and resources, no byte-code) to ``dst/semiocr_runtime`` with its imports
    rewritten, and add ``__main__.py``; returns the files written (relative to ``dst``). Raises
    ``PackageFilesError`` when the copy would import anything of semiocr or torch."""
    src = Path(semiocr.runtime.__file__).parent
    written, bad = [], []
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src)
        if not path.is_file() or "__pycache__" in rel.parts or path.suffix not in (".py", ".txt"):
            continue
        target = dst / RUNTIME_PACKAGE / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".py":
            text = rewrite_imports(path.read_text(encoding="utf-8"))
            bad += forbidden_imports(text, f"{RUNTIME_PACKAGE}/{rel.as_posix()}")
            target.write_text(text, encoding="utf-8")
        else:
            target.write_bytes(path.read_bytes())
        written.append(target.relative_to(dst).as_posix())
    if bad:
        raise PackageFilesError("the runtime copy is not self-contained: " + "; ".join(bad))
    (dst / RUNTIME_PACKAGE / "__main__.py").write_text(MAIN_PY, encoding="utf-8")
    return [*written, f"{RUNTIME_PACKAGE}/__main__.py"]


def runtime_requirements(runtime: str = "onnxruntime-cpu") -> list[str]:
    """The pinned requirements of the package: our ``runtime`` extra (installed metadata of semiocr), with
    onnxruntime replaced by ``GPU_REQUIREMENT`` for ``onnxruntime-gpu``. Never torch."""
    if runtime not in RUNTIMES:
        raise PackageFilesError(f"--runtime {runtime!r}: one of {', '.join(RUNTIMES)}")
    try:
        reqs = requires("semiocr") or []
    except PackageNotFoundError:
        raise PackageFilesError("semiocr's distribution metadata is missing (pip install -e .); the runtime "
                                "extra's pins are read from it") from None
    pins = []
    for req in reqs:
        spec, _, marker = req.partition(";")
        if not re.search(r"""extra\s*==\s*["']runtime["']""", marker):
            continue
        spec = spec.strip().replace(" ", "")
        if not re.fullmatch(r"[A-Za-z0-9._-]+==[A-Za-z0-9.+!-]+", spec):
            raise PackageFilesError(f"runtime requirement {spec!r} is not pinned (name==version)")
        name = spec.split("==")[0].lower().replace("_", "-")
        if name == "torch":
            raise PackageFilesError("the runtime extra lists torch; the package must not need it")
        pins.append(GPU_REQUIREMENT if name == "onnxruntime" and runtime == "onnxruntime-gpu" else spec)
    if not any(p.startswith(("onnxruntime==", "onnxruntime-gpu==")) for p in pins):
        raise PackageFilesError("semiocr's runtime extra has no onnxruntime pin")
    return sorted(pins, key=str.lower)


def requirements_text(runtime: str) -> str:
    head = (f"# semiocr offline package: pinned requirements ({runtime}); Python "
            f"{sys.version_info.major}.{sys.version_info.minor} built it. No torch.\n")
    return head + "".join(f"{r}\n" for r in runtime_requirements(runtime))


def write_zip(root: Path, out: Path) -> Path:
    """Zip every file of ``root`` (sorted, fixed timestamps, ``SHA256SUMS`` last) atomically into ``out``."""
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
            for name in [*package_files(root), SUMS_FILE]:
                info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                z.writestr(info, (root / name).read_bytes())
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out
