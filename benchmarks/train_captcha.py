"""Benchmark: train a recognizer (default PP-OCRv4-mobile-rec, from scratch) on the captcha dataset.

Reports val/test accuracy (exact, 1 − NED, CER), training images/s and inference ms/line (batch 1).

    PYTHONPATH=src python benchmarks/train_captcha.py --data ../shared/data/captcha --epochs 60 --threads 2

``--pretrained PP-OCRv4-mobile-rec`` fine-tunes the ported PP-OCRv4 weights instead (dict surgery to 0-9).
The dataset is not part of the repository: it is read from ``--data`` when present.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch

from semiocr.cli.console import ConsoleSink
from semiocr.core.data.images import read_image
from semiocr.core.data.labels import read_labelled
from semiocr.core.eval.recognition import evaluate_samples
from semiocr.core.events import read_jsonl
from semiocr.core.inference.recognizer import Recognizer
from semiocr.core.training.config import RecTrainConfig
from semiocr.core.training.run import run_rec
from semiocr.core.weights.checkpoint import read_checkpoint


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="../shared/data/captcha")
    p.add_argument("--arch", default="PP-OCRv4-mobile-rec")
    p.add_argument("--pretrained", default=None)
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument("--augment", default="weak")
    p.add_argument("--eval-interval", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--out", default="output/bench_captcha")
    return p.parse_args()


def training_images_per_s(metrics_file: Path) -> float:
    """Images / second over all logged training intervals (evaluation and checkpointing excluded)."""
    events = read_jsonl(metrics_file, "progress")
    images = sum(e["interval_images"] for e in events)
    seconds = sum(e["interval_s"] for e in events)
    return images / seconds if seconds else 0.0


def inference_ms_per_line(rec: Recognizer, paths: list[Path], repeats: int = 3) -> float:
    """Median over lines of the best-of-``repeats`` latency of ``predict([image])`` (batch 1)."""
    images = [read_image(p) for p in paths]
    rec.predict(images[:4])  # warm-up
    per_line = []
    for img in images:
        best = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            rec.predict([img])
            best = min(best, time.perf_counter() - t0)
        per_line.append(best * 1000)
    return statistics.median(per_line)


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    data = Path(args.data)
    if not (data / "train.txt").is_file():
        raise SystemExit(f"{data}: captcha dataset not found (it lives outside the repository)")
    cfg = RecTrainConfig(arch=args.arch, data_dir=str(data), use_space=False, output_dir=args.out, epochs=args.epochs,
                      batch_size=args.batch_size, learning_rate=args.lr, warmup_steps=args.warmup,
                      augment=args.augment, eval_interval=args.eval_interval, save_periodic=False, workers=0,
                      device="cpu", seed=args.seed, pretrained=args.pretrained, log_interval=1, max_text_length=8)
    metrics_file = Path(args.out) / "metrics.jsonl"
    metrics_file.unlink(missing_ok=True)
    t0 = time.time()
    run_rec(cfg, sink=ConsoleSink())  # run_rec itself writes metrics.jsonl
    wall = time.time() - t0
    best = Path(args.out) / "checkpoints" / "best.pt"
    rec = Recognizer.from_weights(best, device="cpu", batch_size=32)
    report = {"arch": args.arch, "pretrained": args.pretrained, "epochs": args.epochs,
              "best_epoch": read_checkpoint(best)["meta"].epoch,
              "train_wall_s": round(wall, 1), "train_images_per_s": round(training_images_per_s(metrics_file), 2),
              "threads": args.threads, "cpu": platform.processor() or platform.machine()}
    for split in ("val.txt", "test.txt"):
        samples = read_labelled(data, split)
        m, _ = evaluate_samples(rec, samples, out_dir=Path(args.out) / f"eval_{split[:-4]}")
        report[split[:-4]] = {k: round(v, 4) for k, v in m.items()}
    test_paths = [s.path for s in read_labelled(data, "test.txt")][:50]
    report["infer_ms_per_line_batch1"] = round(inference_ms_per_line(rec, test_paths), 2)
    print(json.dumps(report, indent=2))
    (Path(args.out) / "report.json").write_text(json.dumps(report, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
