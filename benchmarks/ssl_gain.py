"""SSL gain benchmark: does the semi-supervised recipe beat supervised-only, and how close does it get to the oracle?

For each dataset under ``--data-root`` (MSTextRecLMSSLDataset + ``test.txt`` + ``unlabeled_truth.txt``) it runs
one joint LMSSL run and one oracle run, then reports exact-match accuracy and 1 − NED on ``test.txt`` for:

* small supervised-only  — the joint run's small warm-up (labelled data only, same start weights)
* large supervised-only  — the joint run's large warm-up
* large semi-supervised  — the joint run's best large weights after the pseudo-label rounds
* small distill stage    — the best weights of the distillation stage
* small distilled (joint) — the joint run's final small weights (the better of warm-up and distillation on val)
* small oracle           — the small model trained on labelled + the true labels of the unlabelled pool

plus the precision of the kept pseudo-labels of every round against ``unlabeled_truth.txt``. Each model is also
read both ways (upright and turned by 180°, the more confident reading kept: ``semiocr eval rec --rotate-180``),
which shows how much of a gain is learning to read upside-down lines.
``unlabeled_truth.txt`` is only read here, never by the training run.

    PYTHONPATH=src python benchmarks/ssl_gain.py --datasets captcha --preset cpu --out benchmarks/out/ssl_gain
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path
from typing import Any

import torch
import yaml

from semiocr.core.data.hashing import dataset_hash
from semiocr.core.data.images import read_image
from semiocr.core.data.labels import read_labelled
from semiocr.core.eval.recognition import rec_metrics
from semiocr.core.events import JsonlSink
from semiocr.core.inference.recognizer import Recognizer
from semiocr.core.models.registry import build_model
from semiocr.core.ssl import pseudo_label as pl
from semiocr.core.ssl.common import TaskData
from semiocr.core.ssl.config import LmsslConfig, apply_overrides
from semiocr.core.ssl.recipe import run_lmssl
from semiocr.core.ssl.stage import run_stage, train_config
from semiocr.core.ssl.student import StudentTask
from semiocr.core.training.loop import seed_everything
from semiocr.core.weights.load import load_recognizer_model, load_start_weights
from semiocr.runtime.charset import Charset

DATASETS = ("captcha", "wire_markers", "poilus_handwriting")


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
    # 2-core CPU, the product's small model: PP-OCRv4 mobile from its imported weights in both roles.
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


def _oracle(cfg: LmsslConfig, root: Path, out: Path) -> Path:
    """Small model on labelled + true labels of the pool, same start weights, budget of warm-up + distillation."""
    cs = Charset.from_file(root / "dict.txt", use_space=cfg.data.use_space)
    truth = [pl.PseudoLabel(root.resolve() / rel, text, 1.0) for rel, text in _truth(root).items()]
    truth = [p for p in truth if not cs.missing(p.text)]
    s = cfg.student
    data = TaskData.for_run(cfg, cs, read_labelled(root, "train.txt"), read_labelled(root, "val.txt"),
                            s.optim.batch_size, s.labelled_aug, s.pseudo_aug, dataset_hash(root))
    seed_everything(cfg.seed)
    model = build_model(s.model.arch, num_classes=cs.num_classes, **s.model.kwargs)
    synth = Path(cfg.output_dir) / "small" / "synth" / "checkpoints" / "best.pt"
    start = synth if synth.is_file() else s.model.pretrained  # the joint run's small start weights
    if start is not None:
        load_start_weights(model, Path(start), cs)
    n_lab = len(data.labelled)
    task = StudentTask(model, data, truth, teacher=None, labelled_share=n_lab / (n_lab + len(truth)), seed=cfg.seed)
    warm = cfg.teacher.warmup if s.warmup_from_large else (s.warmup or s.optim)
    extra = warm.epochs * -(-n_lab // warm.batch_size) // max(1, task.steps_per_epoch())
    optim = s.optim.model_copy(update={"epochs": s.optim.epochs + extra})
    tcfg = train_config(optim, task, out, device=cfg.device, seed=cfg.seed, model_kwargs=s.model.kwargs,
                        max_width=cfg.data.max_width, eval_batch_size=cfg.data.eval_batch_size)
    return run_stage(task, out, tcfg, sink=JsonlSink(out / "metrics.jsonl")).best_path


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


def run_dataset(name: str, data_root: Path, preset: str, out: Path, seed: int, overrides: list[str] = ()
                ) -> dict[str, Any]:
    """Joint run + oracle on one dataset; test metrics of the five models and pseudo-label precision."""
    root = data_root / name
    cfg = _config(preset, root, out / name / "joint", seed, list(overrides))
    t0 = time.time()
    summary = run_lmssl(cfg)
    t_joint = time.time() - t0
    oracle = _oracle(cfg, root, out / name / "oracle")
    run = Path(cfg.output_dir)
    models = {"small supervised-only": run / "small/warmup/checkpoints/best.pt",
              "large supervised-only": run / "large/warmup/checkpoints/best.pt",
              "large semi-supervised": run / "large_best.pt",
              "small distill stage": run / "small/distill/checkpoints/best.pt",
              "small distilled (joint)": run / "small_best.pt",
              "small oracle": oracle}
    res = {"dataset": name, "preset": preset, "overrides": list(overrides), "seed": seed,
           "minutes_joint": round(t_joint / 60, 1),
           "minutes_total": round((time.time() - t0) / 60, 1), "val_summary": summary,
           "pseudo": _pseudo_precision(run, root)}
    res["test"], res["test_both_ways"] = _test_all(models, cfg, root)
    (out / name / "results.json").write_text(json.dumps(res, indent=2) + "\n")
    return res


def gap_closed(test: dict[str, dict[str, float]], metric: str) -> float:
    """Share of the small supervised-only → oracle gap on ``metric`` that the distilled small model closes
    (CER: lower is better); NaN when the oracle is not better than supervised-only (the gap is undefined)."""
    sign = -1.0 if metric == "cer" else 1.0
    sup, ora, dist = (sign * test[k][metric] for k in ("small supervised-only", "small oracle",
                                                        "small distilled (joint)"))
    return (dist - sup) / (ora - sup) if ora > sup else float("nan")


def markdown(res: dict[str, Any]) -> str:
    """One dataset's result as Markdown (test accuracy table + pseudo-label precision table)."""
    t = res["test"]
    gaps = ", ".join(f"{name} {gap_closed(t, key):.2f}" for name, key in
                     (("exact", "acc"), ("1 − NED", "norm_edit"), ("CER", "cer")))
    extra = f", overrides {' '.join(res['overrides'])}" if res.get("overrides") else ""
    lines = [f"### {res['dataset']} (preset {res['preset']}{extra}, seed {res['seed']}, {res['minutes_total']} min)",
             "",
             "| model | test acc % | test 1−NED % | test CER % | test acc % read both ways |", "|---|---|---|---|---|"]
    both = res["test_both_ways"]
    lines += [f"| {k} | {100 * v['acc']:.1f} | {100 * v['norm_edit']:.1f} | {100 * v['cer']:.1f} | "
              f"{100 * both[k]['acc']:.1f} |" for k, v in t.items()]
    lines += ["", f"Share of the small supervised→oracle gap closed by distillation (test): {gaps}", "",
              "| pseudo-label file | threshold | kept / pool | kept read at 180° | precision of kept % | "
              "CER of kept % | pool accuracy % |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {k} | {v['threshold']} | {v['kept']} / {v['pool']} | {v.get('kept_rotated', 0)} | "
              f"{100 * v['precision']:.1f} | {100 * v['kept_cer']:.1f} | "
              f"{100 * v['pool_acc']:.1f} |" for k, v in res["pseudo"].items()]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    ap.add_argument("--data-root", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    ap.add_argument("--preset", default="cpu", choices=sorted(PRESETS))
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out/ssl_gain"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("-o", "--override", action="append", default=[], help="config key.sub=value (as the CLI)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    for name in args.datasets:
        res = run_dataset(name, args.data_root, args.preset, args.out, args.seed, args.override)
        print(markdown(res), flush=True)


if __name__ == "__main__":
    main()
