"""The package's layers, read from the source with ``ast`` (nothing is imported): every ``import`` statement counts,
at module level or inside a function.

* ``semiocr.core`` never imports the platform, the API, the CLI or the web layer, nor their libraries;
* ``semiocr.core.inference`` and ``semiocr.core.weights`` reach nothing of training or SSL, directly or through the
  modules they import;
* ``semiocr.runtime`` imports nothing of ``semiocr`` outside itself, and never torch;
* ``semiocr.platform`` never imports the CLI or the API;
* module-level imports form no cycle, and the demo's modules none even counting imports inside functions.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"


@dataclass(frozen=True)
class Import:
    """One imported name: the module it names (``from a import b`` names ``a.b`` when that is a module of ours)."""

    target: str
    file: Path
    line: int
    nested: bool  # inside a function (runs when called, not on import)

    def where(self) -> str:
        return f"{self.file.relative_to(SRC.parent)}:{self.line}"


@cache
def modules() -> dict[str, tuple[Path, bool]]:
    """Dotted name → (file, is package) of every module under ``src/semiocr``."""
    out = {}
    for path in sorted((SRC / "semiocr").rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        out[".".join(parts[:-1] if is_pkg else parts)] = (path, is_pkg)
    return out


@cache
def imports_of(module: str) -> tuple[Import, ...]:
    """Every import statement of ``module``, relative imports resolved."""
    path, is_pkg = modules()[module]
    found: list[Import] = []

    def visit(node: ast.AST, nested: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = nested or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            if isinstance(child, ast.Import):
                found.extend(Import(a.name, path, child.lineno, inner) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    pkg = module.split(".") if is_pkg else module.split(".")[:-1]
                    pkg = pkg[: len(pkg) - (child.level - 1)]
                    base = ".".join([*pkg, base] if base else pkg)
                for a in child.names:
                    full = f"{base}.{a.name}"
                    found.append(Import(full if full in modules() else base, path, child.lineno, inner))
            visit(child, inner)

    visit(ast.parse(path.read_text(encoding="utf-8"), str(path)), False)
    return tuple(found)


def in_package(name: str, packages: Iterable[str]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def layer(package: str) -> list[str]:
    return [m for m in modules() if in_package(m, [package])]


def violations(package: str, forbidden: Iterable[str]) -> list[str]:
    """``file:line: module imports target`` for each import in ``package`` of a name under ``forbidden``."""
    forbidden = list(forbidden)
    return [f"{imp.where()}: {m} imports {imp.target}" for m in layer(package) for imp in imports_of(m)
            if in_package(imp.target, forbidden)]


def ours(target: str) -> list[str]:
    """The modules of ours that importing ``target`` runs: it and each parent package."""
    parts = target.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1) if ".".join(parts[:i]) in modules()]


def reach(start: str) -> dict[str, tuple[str, Import] | None]:
    """Every module of ours that importing ``start`` may run (imports inside functions included), each with the
    module and import that first reached it."""
    seen: dict[str, tuple[str, Import] | None] = {m: None for m in ours(start)}
    todo = list(seen)
    while todo:
        m = todo.pop()
        for imp in imports_of(m):
            for t in ours(imp.target):
                if t not in seen:
                    seen[t] = (m, imp)
                    todo.append(t)
    return seen


def chain(seen: dict[str, tuple[str, Import] | None], end: str) -> str:
    steps = []
    while seen[end] is not None:
        m, imp = seen[end]
        steps.append(f"{imp.where()} ({m} → {end})")
        end = m
    return " ← ".join(steps)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in graph:
        if v not in index:
            strong(v)
    return found


def import_graph(names: Iterable[str], nested: bool) -> dict[str, set[str]]:
    names = set(names)
    return {m: {imp.target for imp in imports_of(m) if imp.target in names and imp.target != m
                and (nested or not imp.nested)} for m in names}


def test_the_scan_sees_the_package() -> None:
    mods = modules()
    assert {"semiocr.runtime.pipeline", "semiocr.core.weights.load", "semiocr.cli.demo"} <= set(mods)
    targets = {imp.target for imp in imports_of("semiocr.core.inference.recognizer")}
    assert {"torch", "semiocr.core.weights.load", "semiocr.runtime.recognition"} <= targets
    nested = {imp.target for imp in imports_of("semiocr.cli.predict") if imp.nested}
    assert "semiocr.core.inference.recognizer" in nested  # imports inside functions are seen
    assert violations("semiocr.cli", ["semiocr.core"])  # the checker does find imports across layers


@pytest.mark.parametrize("package,forbidden", [
    ("semiocr.core", ["semiocr.platform", "semiocr.api", "semiocr.cli", "semiocr.web", "fastapi", "sqlalchemy",
                      "ray"]),
    ("semiocr.core.inference", ["semiocr.core.training", "semiocr.core.ssl"]),
    ("semiocr.core.weights", ["semiocr.core.training", "semiocr.core.ssl"]),
    ("semiocr.runtime", ["torch", "torchvision"]),
    ("semiocr.platform", ["semiocr.cli", "semiocr.api"]),
])
def test_layer_never_imports(package: str, forbidden: list[str]) -> None:
    assert layer(package), f"no modules under {package}"
    bad = violations(package, forbidden)
    assert not bad, "\n".join(bad)


def test_ray_is_imported_only_inside_functions_of_the_ray_executor() -> None:
    """Ray is an optional extra (``semiocr[ray]``): importing any module must not need it."""
    bad = [f"{imp.where()}: {m} imports {imp.target}" for m in layer("semiocr") for imp in imports_of(m)
           if in_package(imp.target, ["ray"]) and (m != "semiocr.platform.executors.ray" or not imp.nested)]
    assert not bad, "\n".join(bad)
    assert any(in_package(imp.target, ["ray"]) for imp in imports_of("semiocr.platform.executors.ray"))


def test_runtime_imports_nothing_of_semiocr_outside_itself() -> None:
    bad = [f"{imp.where()}: {m} imports {imp.target}" for m in layer("semiocr.runtime") for imp in imports_of(m)
           if in_package(imp.target, ["semiocr"]) and not in_package(imp.target, ["semiocr.runtime"])]
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("package", ["semiocr.core.inference", "semiocr.core.weights", "semiocr.runtime"])
def test_inference_reaches_no_training_even_indirectly(package: str) -> None:
    forbidden = ["semiocr.core.training", "semiocr.core.ssl", "semiocr.platform", "semiocr.cli"]
    bad = []
    for m in layer(package):
        seen = reach(m)
        # report where the path first enters a forbidden package (not every module behind it)
        bad += [f"{m} reaches {t}: {chain(seen, t)}" for t, via in seen.items()
                if in_package(t, forbidden) and via is not None and not in_package(via[0], forbidden)]
    assert not bad, "\n".join(bad)


def test_no_import_cycle_at_module_level() -> None:
    found = cycles(import_graph(modules(), nested=False))
    assert not found, f"module-level import cycles: {found}"


def test_demo_modules_form_no_cycle() -> None:
    demo = ["semiocr.cli.demo", "semiocr.cli.demo_steps", "semiocr.cli.demo_presets"]
    graph = import_graph(demo, nested=True)
    assert "semiocr.cli.demo_presets" in graph["semiocr.cli.demo"]
    assert not cycles(graph), graph
