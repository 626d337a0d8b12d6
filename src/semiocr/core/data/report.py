"""The validator's report: issues (errors block, warnings do not), statistics, JSON and histogram pictures."""

from __future__ import annotations

import json
import warnings
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Issue:
    """One problem: ``level`` (error/warning), a stable ``code``, ``where`` (file:line or file) and a message."""

    level: str
    code: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass
class DatasetReport:
    """Everything ``semiocr dataset check`` found about one dataset directory."""

    root: str
    issues: list[Issue] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    label_lengths: list[int] = field(default_factory=list, repr=False)
    aspect_ratios: list[float] = field(default_factory=list, repr=False)
    char_freq: Counter = field(default_factory=Counter, repr=False)
    settings: dict[str, object] = field(default_factory=dict)

    # -- issues ------------------------------------------------------------------------------------
    def error(self, code: str, where: str, message: str) -> None:
        self.issues.append(Issue(ERROR, code, where, message))

    def warn(self, code: str, where: str, message: str) -> None:
        self.issues.append(Issue(WARNING, code, where, message))

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.level == ERROR]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.level == WARNING]

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings allowed)."""
        return not self.errors

    # -- statistics --------------------------------------------------------------------------------
    def stats(self) -> dict:
        """Counts, label-length and aspect-ratio histograms and character frequencies (JSON-ready)."""
        return {
            "counts": dict(self.counts),
            "label_length": _histogram([float(x) for x in self.label_lengths], integer=True),
            "aspect_ratio": _histogram(self.aspect_ratios, integer=False),
            "char_freq": dict(self.char_freq.most_common()),
        }

    def to_dict(self) -> dict:
        by_code = Counter(f"{i.level}:{i.code}" for i in self.issues)
        return {"root": self.root, "ok": self.ok, "num_errors": len(self.errors), "num_warnings": len(self.warnings),
                "issue_counts": dict(sorted(by_code.items())), "settings": self.settings, "stats": self.stats(),
                "issues": [asdict(i) for i in self.issues]}

    def write_json(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=1), encoding="utf-8")
        return path

    def summary(self, max_per_code: int = 5) -> str:
        """Human summary: counts, then each kind of issue with its first few occurrences."""
        lines = [f"dataset {self.root}: " + ("OK" if self.ok else "FAILED")
                 + f" ({len(self.errors)} errors, {len(self.warnings)} warnings)"]
        lines.append("  " + ", ".join(f"{k}={v}" for k, v in self.counts.items()))
        if self.label_lengths:
            ll = np.asarray(self.label_lengths)
            lines.append(f"  label length: min {ll.min()}, mean {ll.mean():.1f}, max {ll.max()}; "
                         f"{len(self.char_freq)} distinct characters")
        groups: dict[tuple[str, str], list[Issue]] = {}
        for i in self.issues:
            groups.setdefault((i.level, i.code), []).append(i)
        for (level, code), items in sorted(groups.items()):
            lines.append(f"  {level.upper()} {code} ({len(items)}):")
            lines += [f"    {i}" for i in items[:max_per_code]]
            if len(items) > max_per_code:
                lines.append(f"    ... and {len(items) - max_per_code} more (see the JSON report)")
        return "\n".join(lines)

    def write_plots(self, out_dir: str | Path) -> list[Path]:
        """Write ``label_length.png``, ``aspect_ratio.png`` and ``char_freq.png``; returns their paths."""
        return write_plots(self, Path(out_dir))


def _histogram(values: list[float], integer: bool, bins: int = 20) -> dict:
    if not values:
        return {"edges": [], "counts": [], "min": None, "max": None, "mean": None}
    arr = np.asarray(values, dtype=np.float64)
    edges = np.arange(arr.min(), arr.max() + 2) - 0.5 if integer else np.histogram_bin_edges(arr, bins=bins)
    counts, edges = np.histogram(arr, bins=edges)
    return {"edges": [round(float(e), 4) for e in edges], "counts": counts.tolist(),
            "min": float(arr.min()), "max": float(arr.max()), "mean": round(float(arr.mean()), 4)}


def write_plots(report: DatasetReport, out_dir: Path) -> list[Path]:
    """Histogram pictures of a report (matplotlib, Agg backend, no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, values, xlabel in (("label_length", report.label_lengths, "label length (characters)"),
                                 ("aspect_ratio", report.aspect_ratios, "image width / height")):
        fig, ax = plt.subplots(figsize=(6, 3.5))
        if values:
            bins = np.arange(min(values), max(values) + 2) - 0.5 if name == "label_length" else 30
            ax.hist(values, bins=bins, color="#4477aa")
        ax.set(xlabel=xlabel, ylabel="images", title=f"{name.replace('_', ' ')} ({len(values)})")
        paths.append(_save(fig, out_dir / f"{name}.png", plt))
    top = report.char_freq.most_common(40)
    fig, ax = plt.subplots(figsize=(10, 3.5))
    ax.bar(range(len(top)), [c for _, c in top], color="#228833")
    ax.set_xticks(range(len(top)), [repr(ch)[1:-1] if ch != " " else "␣" for ch, _ in top])
    ax.set(ylabel="occurrences", title=f"top {len(top)} of {len(report.char_freq)} characters")
    paths.append(_save(fig, out_dir / "char_freq.png", plt))
    return paths


def _save(fig, path: Path, plt) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # glyphs missing from the default font (e.g. CJK) only draw as boxes
        fig.tight_layout()
        fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
