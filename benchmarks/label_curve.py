"""How many labels do I need? Test accuracy against the size of the labelled set, per dev dataset.

For each dataset and each size (default 50, 100, 300 lines; sizes above the dataset's labelled lines are left
out), ``label_subsets.make_subset`` keeps that many lines of ``train.txt`` labelled (fixed seed) and moves the
rest into the unlabelled pool; ``ssl_gain.run_dataset`` then runs the joint recipe, the supervised-only sweep and
the oracle on it. The plot shows supervised-only, large semi-supervised, small distilled and the oracle on
``test.txt`` (exact match; 1 − NED for handwriting); the table adds the gap closed.

    PYTHONPATH=src python benchmarks/label_curve.py --datasets captcha --sizes 50 100 --out benchmarks/out/curve \
        --keep benchmarks/results
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from label_subsets import make_subset  # noqa: E402
from ssl_gain import BACKBONE_SWEEP, DATASETS, PRESETS, SWEEP, gap_closed, gap_problems, gap_report, run_dataset  # noqa: E402

CURVES = {"small supervised-only": "supervised-only (small)", "large semi-supervised": "large semi-supervised",
          "small distilled (joint)": "small distilled", "small oracle": "oracle (small, all labels)"}
#: per dataset: the metric read (handwritten lines are rarely exact) and the overrides its runs need
DATASET_SETTINGS: dict[str, tuple[str, list[str]]] = {
    "captcha": ("acc", []),
    "wire_markers": ("acc", []),
    "poilus_handwriting": ("norm_edit", ["selection_metric=norm_edit", "data.bucket_by_width=true"]),
}


def run_curve(name: str, data_root: Path, sizes: list[int], preset: str, out: Path, seed: int,
              overrides: list[str], rates: list[float], oracle_epochs: int = 12,
              backbone_scales: list[float] = BACKBONE_SWEEP, sweep_epochs: list[int] | None = None,
              oracle_from: dict[str, Any] | None = None, keep: Path | None = None) -> list[dict[str, Any]]:
    """One dataset: a subset per size, then the whole benchmark on it; returns the results of every size measured
    so far (``<out>/<name>.json`` keeps the points of earlier runs; a size run again replaces its point).
    ``oracle_from``: an earlier point of this dataset whose oracle every size takes over; without it the latest
    point with a trained oracle (saved in ``out`` by an earlier call, or trained by a size of this one) lends it to
    every other size, and the first size trains it when there is none. ``keep``: a folder that receives a copy of
    ``<name>.json`` after every point (e.g. ``benchmarks/results``, committed, while ``out`` may be lost)."""
    labelled = sum(1 for r in (data_root / name / "train.txt").read_text(encoding="utf-8").splitlines() if r.strip())
    saved = out / f"{name}.json"

    def saved_points() -> list[dict[str, Any]]:  # read again before each write: another call may have saved meanwhile
        return load_points(saved).get(name, []) if saved.is_file() else []

    results = saved_points()
    trained = next((r for r in reversed(results) if trained_oracle(r)), None)  # its oracle: the same at every size
    for n in [s for s in sizes if s <= labelled]:
        subsets = out / "subsets"
        make_subset(data_root / name, subsets / f"{name}_{n}", n, seed)
        lender = oracle_from or (trained if trained and trained["labels"] != n else None)
        res = run_dataset(f"{name}_{n}", subsets, preset, out / "runs", seed,
                          [*DATASET_SETTINGS[name][1], *overrides], rates, oracle_epochs,
                          backbone_scales=backbone_scales, sweep_epochs=sweep_epochs, oracle_from=lender)
        point = {**res, "dataset": name, "labels": n}  # res names the subset
        results = sorted([r for r in saved_points() if r["labels"] != n] + [point], key=lambda r: r["labels"])
        out.mkdir(parents=True, exist_ok=True)
        saved.write_text(json.dumps(results, indent=2) + "\n")
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(saved, keep / f"label_curve_{name}.json")
        if trained_oracle(point):
            trained = point
    return results


def load_points(*paths: Path) -> dict[str, list[dict[str, Any]]]:
    """The results in ``<dataset>.json`` files, per dataset and sorted by size (files of earlier versions named
    the subset, e.g. ``captcha_50``, as the dataset)."""
    curves: dict[str, list[dict[str, Any]]] = {}
    for path in paths:
        for r in json.loads(path.read_text(encoding="utf-8")):
            name = r["dataset"].removesuffix(f"_{r['labels']}")
            curves.setdefault(name, []).append(r | {"dataset": name})
    return {k: sorted(v, key=lambda r: r["labels"]) for k, v in curves.items()}


def oracle_point(path: Path, name: str) -> dict[str, Any]:
    """The point of ``name`` in the ``<dataset>.json`` file ``path`` with a trained oracle (the largest such
    size); the oracle is the same at every size, so later sizes can take it over instead of training it again."""
    points = [r for r in load_points(path).get(name, []) if trained_oracle(r)]
    if not points:
        raise SystemExit(f"--oracle-from {path}: no point of {name} with a trained oracle")
    return points[-1]


def trained_oracle(point: dict[str, Any]) -> bool:
    """Whether the benchmark of ``point`` trained its own oracle (rather than taking over another point's)."""
    return bool(point.get("oracle")) and "small oracle" in point.get("test", {}) and "taken_from" not in point["oracle"]


def plot(curves: dict[str, list[dict[str, Any]]], path: Path) -> Path:
    """One panel per dataset: test metric of each model against the number of labelled lines."""
    fig, axes = plt.subplots(1, len(curves), figsize=(5 * len(curves), 4), squeeze=False)
    for ax, (name, results) in zip(axes[0], curves.items(), strict=True):
        metric = DATASET_SETTINGS[name][0]
        sizes = [r["labels"] for r in results]
        for key, label in CURVES.items():
            ax.plot(sizes, [100 * r["test"][key][metric] for r in results], marker="o", label=label)
        ax.set(title=name, xlabel="labelled lines", ylabel=f"test {'exact' if metric == 'acc' else '1 − NED'} %",
               xticks=sizes)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def warmups_hold(res: dict[str, Any], metric: str) -> str:
    """Whether each recipe warm-up ended at or above its start weights on val (the issue's first target)."""
    parts = []
    for model in ("large", "small"):
        val = res.get("val_summary", {}).get(model, {})
        if "start" in val and "warmup" in val:
            start, end = val["start"][metric], val["warmup"][metric]
            parts.append(f"{model} {'yes' if end >= start else 'NO'} ({100 * start:.1f} → {100 * end:.1f})")
    return "; ".join(parts) or "not recorded"


def table(curves: dict[str, list[dict[str, Any]]]) -> str:
    """Markdown: per dataset and size, test metric of the four models, what distillation adds over supervised-only,
    the gap closed, whether the warm-ups held their start, and the joint run's wall time."""
    lines = ["| dataset | labelled lines | metric | " + " | ".join(CURVES.values())
             + " | distilled − supervised-only | gap closed | warm-ups ≥ start (val) | joint run, min |",
             "|---|---|---|" + "---|" * len(CURVES) + "---|---|---|---|"]
    for name, results in curves.items():
        metric = DATASET_SETTINGS[name][0]
        for r in results:
            cells = " | ".join(f"{100 * r['test'][k][metric]:.1f}" for k in CURVES)
            gain = 100 * (r["test"]["small distilled (joint)"][metric] - r["test"]["small supervised-only"][metric])
            lines.append(f"| {name} | {r['labels']} | {'exact' if metric == 'acc' else '1−NED'} | {cells} | "
                         f"{gain:+.1f} | {gap_report(r, metric)} | {warmups_hold(r, metric)} | "
                         f"{joint_time(r)} |")
    return "\n".join(lines) + "\n" + mean_gap(curves) + "\n"


def joint_time(r: dict[str, Any]) -> str:
    """The joint run's minutes as its stages recorded them, and from its event log when that left out gaps (the run
    was paused or interrupted)."""
    cell, events = f"{r.get('minutes_joint') or 'not recorded'}", r.get("minutes_joint_events")
    if events and events["gaps_left_out"]:
        cell += (f" (event log: {events['minutes']}, {events['gaps_left_out']} gap(s) of "
                 f"{events['minutes_left_out']} min left out)")
    return cell


def mean_gap(curves: dict[str, list[dict[str, Any]]]) -> str:
    """The mean gap closed over the points whose baselines are both sound (raw values, outside [0, 1] too), and
    the points left out, by name."""
    kept, left = [], []
    for name, results in curves.items():
        metric = DATASET_SETTINGS[name][0]
        for r in results:
            gap = gap_closed(r["test"], metric)
            (left if gap_problems(r) or gap != gap else kept).append((f"{name} {r['labels']}", gap))
    if not kept:
        return "Mean gap closed: no point has two sound baselines yet."
    mean = sum(g for _, g in kept) / len(kept)
    points = f"{len(kept)} point{'' if len(kept) == 1 else 's'}"
    text = f"Mean gap closed over {points} with sound baselines: {mean:.2f} (target ≥ 0.70)"
    return text + (f"; left out: {', '.join(n for n, _ in left)}." if left else ".")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    ap.add_argument("--sizes", type=int, nargs="+", default=[50, 100, 300])
    ap.add_argument("--data-root", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    ap.add_argument("--preset", default="cpu", choices=sorted(PRESETS))
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out/label_curve"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--sweep", type=float, nargs="+", default=list(SWEEP))
    ap.add_argument("--sweep-backbone", type=float, nargs="+", default=list(BACKBONE_SWEEP))
    ap.add_argument("--sweep-epochs", type=int, nargs="+", default=None,
                    help="epoch budgets of the supervised-only baseline (default: the recipe's small warm-up's)")
    ap.add_argument("--oracle-epochs", type=int, default=12, help="cap of the oracle (it stops when val does)")
    ap.add_argument("-o", "--override", action="append", default=[], help="config key.sub=value (every run)")
    ap.add_argument("--oracle-from", type=Path, default=None,
                    help="a <dataset>.json of earlier points: take over its oracle instead of training one "
                         "(it trains on every line, so it does not depend on the size)")
    ap.add_argument("--keep", type=Path, default=None,
                    help="copy <dataset>.json here after every point (as label_curve_<dataset>.json)")
    ap.add_argument("--from-json", type=Path, nargs="+", default=None,
                    help="draw and tabulate earlier results (<out>/<dataset>.json files) instead of running")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.from_json:
        curves = load_points(*args.from_json)
    else:
        curves = {name: run_curve(name, args.data_root, args.sizes, args.preset, args.out, args.seed,
                                  args.override, args.sweep, args.oracle_epochs, args.sweep_backbone,
                                  args.sweep_epochs,
                                  oracle_point(args.oracle_from, name) if args.oracle_from else None,
                                  args.keep)
                  for name in args.datasets}
    print(f"plot: {plot(curves, args.out / 'label_curve.png')}")
    print(table(curves))


if __name__ == "__main__":
    main()
