"""SSL gain benchmark: does the semi-supervised recipe beat supervised-only, and how close does it get to the oracle?

For each dataset under ``--data-root`` (MSTextRecLMSSLDataset + ``test.txt`` + ``unlabeled_truth.txt``) it runs
one joint LMSSL run, an honest supervised-only baseline and an oracle, then reports exact-match accuracy and
1 − NED on ``test.txt`` for:

* small supervised-only  — the small model fine-tuned on the labelled lines alone, from the same start weights,
  once per learning rate of ``--sweep`` and backbone rate scale of ``--sweep-backbone`` (the recipe's small
  warm-up budget otherwise); the best on val is kept
* large / small warm-up  — the recipe's own supervised warm-ups (labelled data only)
* large semi-supervised  — the joint run's best large weights after the pseudo-label rounds
* small distill stage    — the best weights of the distillation stage
* small distilled (joint) — the joint run's final small weights (the better of warm-up and distillation on val)
* small oracle           — the small model trained on labelled + the true labels of the unlabelled pool until
  val stops improving (``--oracle-patience`` evaluations), at most ``--oracle-epochs`` epochs

plus the precision of the kept pseudo-labels of every round against ``unlabeled_truth.txt``. Each model is also
read both ways (upright and turned by 180°, the more confident reading kept: ``semiocr eval rec --rotate-180``),
which shows how much of a gain is learning to read upside-down lines. The share of the supervised-only → oracle
gap that distillation closes is reported only when both baselines are sound: supervised-only training beat its
start weights on val and the kept setting's last evaluation gained less than ``--min-delta`` (else give it more
``--sweep-epochs``); the oracle stopped on its own, or its last ``--oracle-patience`` epochs gained less than
``--min-delta`` on val. A value outside [0, 1] is flagged with its reason. ``unlabeled_truth.txt`` is only read
here, never by the training run.

    PYTHONPATH=src python benchmarks/ssl_gain.py --datasets captcha --preset cpu --out benchmarks/out/ssl_gain
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import time
from pathlib import Path
from typing import Any

import torch
import yaml

from semiocr.core.config import apply_overrides
from semiocr.core.data.hashing import dataset_hash
from semiocr.core.data.images import read_image
from semiocr.core.data.labels import read_labelled
from semiocr.core.eval.recognition import rec_metrics
from semiocr.core.events import JsonlSink
from semiocr.core.inference.recognizer import Recognizer
from semiocr.core.models.registry import build_model
from semiocr.core.ssl import pseudo_label as pl
from semiocr.core.ssl.common import TaskData, selection_score
from semiocr.core.ssl.config import LmsslConfig, OptimCfg
from semiocr.core.ssl.recipe import run_lmssl, warmup_weights
from semiocr.core.ssl.stage import StageResult, run_stage, train_config
from semiocr.core.ssl.student import StudentTask
from semiocr.core.training.loop import seed_everything
from semiocr.core.weights.load import load_recognizer_model, load_start_weights
from semiocr.runtime.charset import Charset

DATASETS = ("captcha", "wire_markers", "poilus_handwriting")
SWEEP = (1e-4, 3e-4, 1e-3)  # learning rates of the supervised-only baseline
BACKBONE_SWEEP = (0.1, 1.0)  # and backbone rate scales (protected, full)


def _optim(epochs: int, batch: int, lr: float = 3e-3, eval_every: int = 1, warmup_steps: int = 20) -> dict[str, Any]:
    return {"epochs": epochs, "batch_size": batch, "learning_rate": lr, "warmup_steps": warmup_steps,
            "eval_interval": eval_every}


_SYNTH = {"lines": 3000, "val_lines": 100, "optim": _optim(4, 32)}  # start weights: synthetic lines of the dict
_CPU_LARGE = {"arch": "rec-tiny", "kwargs": {"channels": [32, 64, 128]}, "synth_pretrain": _SYNTH}  # 375k, T=W/8
_CPU_SMALL = {"arch": "rec-tiny", "synth_pretrain": _SYNTH}  # 95k parameters, T = W/8 (frame-level KL applies)


def _shipped(name: str) -> dict[str, Any]:
    """A config file of ``configs/`` as a preset (the benchmark measures exactly what users run)."""
    return yaml.safe_load((Path(__file__).resolve().parents[1] / "configs" / name).read_text(encoding="utf-8"))


PRESETS: dict[str, dict[str, Any]] = {
    # 2-core CPU, the shipped config: PP-OCRv6 small (large) teaches PP-OCRv4 mobile (small), imported weights.
    "cpu": _shipped("lmssl_cpu.yaml"),
    # 2-core CPU, small random-init conv + transformer pair from synthetic pre-training (the first measurement).
    "cpu-tiny": {
        "device": "cpu",
        "data": {"max_width": 960, "eval_batch_size": 64},
        "teacher": {"model": _CPU_LARGE, "warmup": _optim(60, 16, eval_every=3), "rounds": 2,
                    "round_optim": _optim(8, 48, 5e-4), "labelled_share": 0.33, "ema_decay": 0.99,
                    "ema_warmup_steps": 50, "pseudo": {"threshold": 0.8, "top_fraction_start": 0.5,
                                                       "top_fraction_step": 0.3}},
        "student": {"model": _CPU_SMALL, "warmup": _optim(60, 16, eval_every=3), "optim": _optim(20, 48, 1e-3),
                    "labelled_share": 0.3, "pseudo": {"threshold": 0.5}, "kd_weight": 1.0, "kd_temperature": 2.0},
    },
    # GPU: the product's defaults (PP-OCRv4 server from synthetic pre-training → mobile from its weights).
    "gpu": {**_shipped("lmssl_joint.yaml"), "device": "cuda"},
}


def _config(preset: str, root: Path, out: Path, seed: int, overrides: list[str]) -> LmsslConfig:
    raw = json.loads(json.dumps(PRESETS[preset]))
    raw["data"] = {**raw.get("data", {}), "root": str(root)}
    raw.update(mode="joint", output_dir=str(out), seed=seed)
    return LmsslConfig.model_validate(apply_overrides(raw, overrides))


def _truth(root: Path) -> dict[str, str]:
    return {s.path.relative_to(root.resolve()).as_posix(): s.text or ""
            for s in read_labelled(root.resolve(), "unlabeled_truth.txt")}


def _small_run(cfg: LmsslConfig, root: Path, out: Path, extra: list[pl.PseudoLabel], optim: OptimCfg
               ) -> StageResult:
    """The small model trained with plain CTC (no teacher) on the labelled lines plus ``extra`` (true labels of
    the pool, for the oracle), from the joint run's small start weights, run as its stages are (``step_settings``); its
    start weights stay its best unless training beats them on val."""
    cs = Charset.from_file(root / "dict.txt", use_space=cfg.data.use_space)
    s = cfg.student
    data = TaskData.for_run(cfg, cs, read_labelled(root, "train.txt"), read_labelled(root, "val.txt"),
                            optim.batch_size, s.labelled_aug, s.pseudo_aug, dataset_hash(root))
    seed_everything(cfg.seed)
    model = build_model(s.model.arch, num_classes=cs.num_classes, **s.model.kwargs)
    synth = Path(cfg.output_dir) / "small" / "synth" / "checkpoints" / "best.pt"
    start = synth if synth.is_file() else s.model.pretrained  # the joint run's small start weights
    if start is not None:
        load_start_weights(model, start, cs)
    n_lab = len(data.labelled)
    task = StudentTask(model, data, extra, teacher=None, labelled_share=n_lab / (n_lab + len(extra)), seed=cfg.seed)
    tcfg = train_config(optim, task, out, device=cfg.device, seed=cfg.seed, model_kwargs=s.model.kwargs,
                        **cfg.step_settings())
    return run_stage(task, out, tcfg, sink=JsonlSink(out / "metrics.jsonl"))


def _supervised(cfg: LmsslConfig, root: Path, out: Path, rates: list[float], backbone_scales: list[float],
                epochs: list[int] | None = None, min_delta: float = 0.005) -> tuple[Path, dict[str, Any]]:
    """Supervised-only baseline: the small model fine-tuned on the labelled lines once per learning rate,
    backbone rate scale and epoch budget (default: the recipe's small warm-up's; its settings otherwise), the best
    on val kept. A start far from the domain needs its backbone to move at the full rate, one close to it does
    better protected, so both are tried. Sound when some setting beat the start weights; converged when the kept
    setting's last evaluation gained less than ``min_delta`` on val over the best before it (else a longer budget,
    ``epochs``, would likely make a stronger baseline)."""
    key = cfg.selection_metric
    warm = cfg.student.warmup or cfg.student.optim
    runs = {}
    for n_epochs in epochs or [warm.epochs]:
        for scale in backbone_scales:
            for lr in rates:
                name = (f"lr_{lr:g}" + ("" if scale == warm.backbone_lr_scale else f"_backbone_{scale:g}")
                        + ("" if n_epochs == warm.epochs else f"_e{n_epochs}"))
                optim = warm.model_copy(update={"learning_rate": lr, "backbone_lr_scale": scale, "epochs": n_epochs})
                runs[name] = _small_run(cfg, root, out / name, [], optim)
    best = max(runs, key=lambda name: selection_score(runs[name].best, key))
    sweep = {name: {"val_start": r.start.get(key), "val_trained": r.trained.get(key),
                    "trained_epoch": r.trained.get("epoch"), "improved": r.improved(key)} for name, r in runs.items()}
    late_gain = last_epochs_gain(out / best / "metrics.jsonl", key, 1)
    return runs[best].best_path, {"setting": best, "sweep": sweep, "sound": any(r.improved(key) for r in runs.values()),
                                  "late_gain": late_gain, "min_delta": min_delta,
                                  "converged": late_gain is not None and late_gain < min_delta}


def _oracle(cfg: LmsslConfig, root: Path, out: Path, max_epochs: int, patience: int, min_delta: float = 0.005
            ) -> tuple[Path, dict[str, Any]]:
    """Small model on labelled + true labels of the pool, same start weights and learning rate as distillation,
    trained until val has not improved for ``patience`` epochs (at most ``max_epochs``). Sound when it beat its
    start and converged: it stopped on its own, or its last ``patience`` epochs gained less than ``min_delta`` on
    val (a decaying schedule keeps adding crumbs to its last epoch; Keras' ``EarlyStopping(min_delta)``)."""
    cs = Charset.from_file(root / "dict.txt", use_space=cfg.data.use_space)
    truth = [pl.PseudoLabel(root.resolve() / rel, text, 1.0) for rel, text in _truth(root).items()]
    truth = [p for p in truth if not cs.missing(p.text)]
    optim = cfg.student.optim.model_copy(update={"epochs": max_epochs, "patience": patience, "eval_interval": 1})
    res = _small_run(cfg, root, out, truth, optim)
    key = cfg.selection_metric
    epoch = res.trained.get("epoch")
    late_gain = last_epochs_gain(out / "metrics.jsonl", key, patience)
    stopped = epoch is not None and epoch + patience <= max_epochs
    converged = stopped or (late_gain is not None and late_gain < min_delta)
    return res.best_path, {"best_epoch": epoch, "max_epochs": max_epochs, "patience": patience,
                           "late_gain": late_gain, "min_delta": min_delta, "converged": converged,
                           "improved": res.improved(key), "sound": converged and res.improved(key)}


def last_epochs_gain(metrics_file: Path, key: str, last: int) -> float | None:
    """How much the best val ``key`` of the last ``last`` epochs beats the best of the epochs before them
    (start included); None with too few epochs. An epoch evaluated again after a resume counts once."""
    values: dict[int, float] = {}
    for line in metrics_file.read_text(encoding="utf-8").splitlines() if metrics_file.is_file() else []:
        event = json.loads(line)
        if event.get("kind") == "metrics" and key in event:
            values[int(event["epoch"])] = float(event[key])
    epochs = sorted(values)
    if len(epochs) <= last:
        return None
    return max(values[e] for e in epochs[-last:]) - max(values[e] for e in epochs[:-last])


def _test(weights: Path, cfg: LmsslConfig, root: Path) -> tuple[dict[str, float], dict[str, float]]:
    """Test metrics of ``weights`` read upright, and read both ways (the more confident of upright and 180°)."""
    cs = Charset.from_file(root / "dict.txt", use_space=cfg.data.use_space)
    rec = Recognizer(load_recognizer_model(weights, cs)[0], cs, torch.device(cfg.device), cfg.data.eval_batch_size,
                     cfg.data.max_width)
    test = read_labelled(root, "test.txt")
    reads = rec.predict_both_ways([read_image(s.path, s.source) for s in test])
    truth = [s.text or "" for s in test]
    upright, both = (rec_metrics([d.text for d in r], truth) for r in reads)
    return upright, both


def _test_all(models: dict[str, Path], cfg: LmsslConfig, root: Path
              ) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, float]]]:
    """Test metrics of each model read upright and both ways; identical weight files (a stage reused or copied as
    a final model) are evaluated once."""
    done: dict[str, tuple[dict[str, float], dict[str, float]]] = {}
    upright, both = {}, {}
    for name, path in models.items():
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest not in done:
            done[digest] = _test(path, cfg, root)
        upright[name], both[name] = done[digest]
    return upright, both


def _pseudo_precision(run: Path, root: Path) -> dict[str, dict[str, float]]:
    truth, out = _truth(root), {}
    for meta in sorted((run / "pseudo").glob("*.json")):
        stem, info = meta.with_suffix(""), json.loads(meta.read_text())
        kept = [r.split("\t")[:2] for r in stem.with_suffix(".labels.txt").read_text().splitlines()]
        all_rows = [r.split("\t")[:2] for r in stem.with_suffix(".tsv").read_text().splitlines()]
        kept_m, pool_m = (rec_metrics([t for _, t in rows], [truth.get(p, "") for p, _ in rows])
                          for rows in (kept, all_rows))
        out[stem.name] = {"kept": len(kept), "pool": len(all_rows),
                          "precision": kept_m["acc"], "kept_cer": kept_m["cer"],
                          "pool_acc": pool_m["acc"], "pool_cer": pool_m["cer"],
                          "threshold": info["threshold"], "kept_rotated": info.get("kept_rotated", 0)}
    return out


def joint_minutes(run: Path) -> float | None:
    """Wall minutes of a joint run's stages as its ``summary.json`` records them: summed over every call that ran a
    part of it (a call that finds the run finished adds nothing), ``None`` without a summary. The recipe adds a
    stage's time when it saves its state (at every ``latest`` checkpoint of a training stage, at the end of a
    pseudo-labelling one), so what an interruption cuts off after that is missing."""
    path = run / "summary.json"
    if not path.is_file():
        return None
    return round(sum(json.loads(path.read_text(encoding="utf-8")).get("stage_seconds", {}).values()) / 60, 1)


def active_minutes(run: Path, max_gap_s: float = 300.0) -> dict[str, float | int] | None:
    """Wall minutes of a run from its event log, with every gap of more than ``max_gap_s`` between consecutive
    events left out (a paused or killed process; a stage writes progress events every minute or two): the time a
    run with interruptions would have taken without them, slightly under (the work done inside a left-out gap is
    lost with it). ``None`` without an event log."""
    path = run / "events.jsonl"
    if not path.is_file():
        return None
    times = [json.loads(line)["time"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    kept = [g for g in gaps if g <= max_gap_s]
    return {"minutes": round(sum(kept) / 60, 1), "gaps_left_out": len(gaps) - len(kept),
            "minutes_left_out": round((sum(gaps) - sum(kept)) / 60, 1)}


def run_dataset(name: str, data_root: Path, preset: str, out: Path, seed: int, overrides: list[str] = (),
                rates: list[float] = SWEEP, oracle_epochs: int = 12, oracle_patience: int = 2,
                backbone_scales: list[float] = BACKBONE_SWEEP, baselines: bool = True,
                min_delta: float = 0.005, sweep_epochs: list[int] | None = None,
                oracle_from: dict[str, Any] | None = None) -> dict[str, Any]:
    """Joint run + supervised-only sweep + oracle on one dataset (``baselines=False``: the joint run alone); test
    metrics of every model and pseudo-label precision. ``oracle_from``: the results of an earlier run on the same
    dataset and preset whose oracle is taken over instead of training it again (the oracle trains on every line
    with its true label, so it is the same at every size of the labelled subset)."""
    if oracle_from is not None and oracle_from.get("preset") != preset:
        raise ValueError(f"oracle_from: its preset {oracle_from.get('preset')!r} is not {preset!r}")
    root = data_root / name
    cfg = _config(preset, root, out / name / "joint", seed, list(overrides))
    t0 = time.time()
    summary = run_lmssl(cfg).summary
    sup, sup_info = oracle, oracle_info = None, None
    if baselines:
        sup, sup_info = _supervised(cfg, root, out / name / "supervised", list(rates), list(backbone_scales),
                                    sweep_epochs, min_delta)
        if oracle_from is None:
            oracle, oracle_info = _oracle(cfg, root, out / name / "oracle", oracle_epochs, oracle_patience,
                                           min_delta)
        else:
            source = " ".join(str(oracle_from[k]) for k in ("dataset", "labels") if k in oracle_from)
            oracle_info = {**oracle_from["oracle"], "taken_from": source}
    run = Path(cfg.output_dir)
    models = {"small supervised-only": sup,
              "large warm-up (recipe)": warmup_weights(run, "large"),
              "small warm-up (recipe)": warmup_weights(run, "small"),
              "large semi-supervised": run / "large_best.pt",
              "small distill stage": run / "small/distill/checkpoints/best.pt",
              "small distilled (joint)": run / "small_best.pt",
              "small oracle": oracle}
    res = {"dataset": name, "preset": preset, "overrides": list(overrides), "seed": seed,
           "minutes_joint": joint_minutes(run), "minutes_joint_events": active_minutes(run),
           "minutes_total": round((time.time() - t0) / 60, 1), "val_summary": summary,
           "supervised": sup_info, "oracle": oracle_info, "pseudo": _pseudo_precision(run, root)}
    res["test"], res["test_both_ways"] = _test_all({k: v for k, v in models.items() if v and v.is_file()}, cfg,
                                                   root)
    if baselines and oracle_from is not None:
        for key in ("test", "test_both_ways"):
            res[key]["small oracle"] = oracle_from[key]["small oracle"]
    (out / name / "results.json").write_text(json.dumps(res, indent=2) + "\n")
    return res


def gap_closed(test: dict[str, dict[str, float]], metric: str) -> float:
    """Share of the small supervised-only → oracle gap on ``metric`` that the distilled small model closes
    (CER: lower is better); NaN when the oracle is not better than supervised-only (the gap is undefined)."""
    sign = -1.0 if metric == "cer" else 1.0
    sup, ora, dist = (sign * test[k][metric] for k in ("small supervised-only", "small oracle",
                                                        "small distilled (joint)"))
    return (dist - sup) / (ora - sup) if ora > sup else float("nan")


def gap_problems(res: dict[str, Any]) -> list[str]:
    """Why the gap closed of ``res`` cannot be trusted: an unsound supervised-only or oracle baseline (empty when
    both are sound)."""
    sup, ora = res["supervised"], res["oracle"]
    problems = []
    if not sup["sound"]:
        problems.append("no learning rate of the supervised-only sweep beat the start weights on val")
    elif sup.get("converged") is False:  # results from before the check have no such field
        problems.append("the kept supervised-only setting was still improving at the end of its budget")
    if not ora["improved"]:
        problems.append("the oracle did not beat its start weights on val")
    elif not ora["converged"]:
        problems.append(f"the oracle was still improving at its cap of {ora['max_epochs']} epochs")
    return problems


def gap_report(res: dict[str, Any], metric: str) -> str:
    """The gap closed on ``metric`` with what makes it trustworthy or not: unsound baselines and values outside
    [0, 1] are said, with their reason."""
    problems = gap_problems(res)
    gap = gap_closed(res["test"], metric)
    if problems:
        return f"not reported ({'; '.join(problems)}; raw value {gap:.2f})"
    if gap != gap:
        return "undefined (the oracle is not better than supervised-only on test)"
    if gap > 1:
        n = res["test"]["small oracle"].get("n", 0)
        return (f"{gap:.2f} — OUTSIDE [0, 1]: distilled beats the oracle on test (an oracle trained on noisy "
                f"pool labels, or test noise: one line is {100 / max(n, 1):.2f} points)")
    if gap < 0:
        return f"{gap:.2f} — OUTSIDE [0, 1]: distilled is below supervised-only"
    return f"{gap:.2f}"


def markdown(res: dict[str, Any]) -> str:
    """One dataset's result as Markdown (test accuracy table + pseudo-label precision table)."""
    t, sup, ora = res["test"], res["supervised"], res["oracle"]
    extra = f", overrides {' '.join(res['overrides'])}" if res.get("overrides") else ""
    lines = [f"### {res['dataset']} (preset {res['preset']}{extra}, seed {res['seed']}, {res['minutes_total']} min)",
             "",
             "| model | test acc % | test 1−NED % | test CER % | test acc % read both ways |", "|---|---|---|---|---|"]
    both = res["test_both_ways"]
    lines += [f"| {k} | {100 * v['acc']:.1f} | {100 * v['norm_edit']:.1f} | {100 * v['cer']:.1f} | "
              f"{100 * both[k]['acc']:.1f} |" for k, v in t.items()]
    if sup is None:
        lines += ["", "Baselines not run (`--joint-only`): no gap closed.", ""]
    else:
        sweep = ", ".join(f"{name}: val {_pct(v['val_start'])} → {_pct(v['val_trained'])} "
                          f"(epoch {v['trained_epoch']})" for name, v in sup["sweep"].items())
        gaps = "; ".join(f"{name} {gap_report(res, key)}" for name, key in
                         (("exact", "acc"), ("1 − NED", "norm_edit"), ("CER", "cer")))
        late = f"; {_late_gain(ora, str(ora['patience']) + ' epochs')}" if ora.get("late_gain") is not None else ""
        kept = sup["setting"] + (f" ({_late_gain(sup, 'evaluation')})" if sup.get("late_gain") is not None else "")
        lines += ["", f"Supervised-only sweep (val, start → best trained): {sweep}; kept {kept}.",
                  f"Oracle: best val at epoch {ora['best_epoch']} of at most {ora['max_epochs']} (patience "
                  f"{ora['patience']}{late}).", "",
                  f"Share of the small supervised→oracle gap closed by distillation (test): {gaps}", ""]
    lines += ["| pseudo-label file | threshold | kept / pool | kept read at 180° | precision of kept % | "
              "CER of kept % | pool accuracy % |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {k} | {v['threshold']} | {v['kept']} / {v['pool']} | {v.get('kept_rotated', 0)} | "
              f"{100 * v['precision']:.1f} | {100 * v['kept_cer']:.1f} | "
              f"{100 * v['pool_acc']:.1f} |" for k, v in res["pseudo"].items()]
    return "\n".join(lines) + "\n"


def _late_gain(info: dict[str, Any], last: str) -> str:
    """A baseline's late gain against its convergence threshold, in val points."""
    return (f"its last {last} gained {100 * info['late_gain']:+.2f} val points, converged below "
            f"{100 * info['min_delta']:.2f}")


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{100 * v:.1f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    ap.add_argument("--data-root", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    ap.add_argument("--preset", default="cpu", choices=sorted(PRESETS))
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out/ssl_gain"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("-o", "--override", action="append", default=[], help="config key.sub=value (as the CLI)")
    ap.add_argument("--sweep", type=float, nargs="+", default=list(SWEEP),
                    help="learning rates of the supervised-only baseline")
    ap.add_argument("--sweep-backbone", type=float, nargs="+", default=list(BACKBONE_SWEEP),
                    help="backbone rate scales of the supervised-only baseline")
    ap.add_argument("--sweep-epochs", type=int, nargs="+", default=None,
                    help="epoch budgets of the supervised-only baseline (default: the recipe's small warm-up's)")
    ap.add_argument("--oracle-epochs", type=int, default=12)
    ap.add_argument("--oracle-patience", type=int, default=2)
    ap.add_argument("--min-delta", "--oracle-min-delta", type=float, default=0.005,
                    help="val gain below which a baseline counts as converged: the oracle's last "
                         "--oracle-patience epochs, the kept supervised-only setting's last evaluation")
    ap.add_argument("--joint-only", action="store_true",
                    help="run and test the joint recipe only (no supervised-only sweep, no oracle, no gap closed)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    for name in args.datasets:
        res = run_dataset(name, args.data_root, args.preset, args.out, args.seed, args.override, args.sweep,
                          args.oracle_epochs, args.oracle_patience, args.sweep_backbone, not args.joint_only,
                          args.min_delta, args.sweep_epochs)
        print(markdown(res), flush=True)


if __name__ == "__main__":
    main()
