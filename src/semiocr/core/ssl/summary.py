"""The summary of an LMSSL run: for each model, val accuracy at its start, after warm-up, and final."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

COLUMNS = (("start", "start"), ("warmup", "after supervised warm-up"), ("final", "final"))


def _fmt(m: Mapping[str, float] | None, key: str) -> str:
    return f"{100 * m[key]:.2f}" if m and key in m else "–"


def _cell(m: Mapping[str, float] | None) -> str:
    """Exact match % with 1 − NED % in brackets."""
    return f"{_fmt(m, 'acc')} ({_fmt(m, 'norm_edit')})"


def summary_table(results: Mapping[str, Mapping[str, Mapping[str, float]]]) -> dict[str, Any]:
    """``{model: {column: {"acc", "norm_edit"}}}`` for the summary's fixed columns, plus per-round results and
    the warm-up's tries when there were several."""
    out: dict[str, Any] = {}
    for model, stages in results.items():
        out[model] = {col: dict(stages[col]) for col, _ in COLUMNS if col in stages}
        rounds = {k: dict(v) for k, v in stages.items() if k.startswith("round")}
        if rounds:
            out[model]["rounds"] = rounds
        if "warmup_tries" in stages:
            out[model]["warmup_tries"] = {k: dict(v) for k, v in stages["warmup_tries"].items()}
    return out


def summary_markdown(table: Mapping[str, Any], mode: str, failures: Mapping[str, str] | None = None,
                     warnings: Mapping[str, str] | None = None, seconds: Mapping[str, float] | None = None) -> str:
    """Markdown table of validation accuracy (exact match, %) with 1 − NED in brackets, then the stages whose
    training did not beat their start weights (whose column therefore repeats the start), other warnings and the
    wall time of each stage."""
    head = "| model | " + " | ".join(title for _, title in COLUMNS) + " |"
    lines = [f"# LMSSL run summary (mode: {mode})", "", "Validation accuracy, exact match % (1 − NED %).", "",
             head, "|" + "---|" * (len(COLUMNS) + 1)]
    for model, cols in table.items():
        lines.append(f"| {model} | " + " | ".join(_cell(cols.get(c)) for c, _ in COLUMNS) + " |")
    for model, cols in table.items():
        for r, m in cols.get("rounds", {}).items():
            lines.append(("\n" if r == "round1" else "") + f"{model} {r}: {_cell(m)}")
    for model, cols in table.items():
        if "warmup_tries" in cols:
            tries = "; ".join(f"{k} {_cell(m)}" for k, m in cols["warmup_tries"].items())
            lines.append(f"\n{model} supervised warm-up tries (the best is the warm-up): {tries}")
    if failures:
        lines += ["", "**Stages that did not beat their start weights** (their column repeats the start):"]
        lines += [f"- {message}" for message in failures.values()]
    if warnings:
        lines += ["", "**Warnings:**"] + [f"- {message}" for message in warnings.values()]
    if seconds:
        stages = ", ".join(f"{stage} {s / 60:.1f}" for stage, s in seconds.items())
        lines += ["", f"Wall time {sum(seconds.values()) / 60:.1f} min: {stages} (minutes per stage)."]
    return "\n".join(lines) + "\n"


def write_summary(out_dir: Path, results: Mapping[str, Any], mode: str, failures: Mapping[str, str] | None = None,
                  warnings: Mapping[str, str] | None = None, seconds: Mapping[str, float] | None = None
                  ) -> dict[str, Any]:
    """Write ``summary.json`` and ``summary.md`` into ``out_dir``; returns the table. ``seconds``: wall time
    per stage."""
    table = summary_table(results)
    doc = {"mode": mode, "models": table, "failed_stages": dict(failures or {}), "warnings": dict(warnings or {}),
           "stage_seconds": dict(seconds or {})}
    (out_dir / "summary.json").write_text(json.dumps(doc, indent=2) + "\n")
    (out_dir / "summary.md").write_text(summary_markdown(table, mode, failures, warnings, seconds),
                                        encoding="utf-8")
    return table
