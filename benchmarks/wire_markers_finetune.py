"""Fine-tune PP-OCRv4 mobile rec from the imported weights on wire_markers' 307 labelled lines (the engine).

Usage: PYTHONPATH=src python benchmarks/wire_markers_finetune.py --out /tmp/wm_ft [--epochs 20] [--dict dataset]
Prints test accuracy (exact, and 1-NED/CER) of the zero-shot port and of the fine-tuned best-on-val checkpoint,
and the wall time of the fine-tuning. Inference batches like RapidOCR (6 lines sorted by aspect ratio).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from wire_markers_common import DATA, load_split

from semiocr.core.eval.recognition import rec_metrics
from semiocr.core.inference.recognizer import Recognizer
from semiocr.core.models.pretrained import load_preset
from semiocr.core.training.config import RecTrainConfig
from semiocr.core.training.run import run_rec
from semiocr.runtime.resources import PPOCR_DEFAULT_DICT, resource_path


def _test_metrics(rec: Recognizer) -> dict[str, float]:
    images, labels = load_split("test.txt")
    return rec_metrics([d.text for d in rec.predict(images)], labels)


def _fmt(m: dict[str, float]) -> str:
    return f"exact {100 * m['acc']:.1f}%  1-NED {m['norm_edit']:.3f}  CER {m['cer']:.3f}  (n={m['n']})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="run directory (checkpoints, metrics.jsonl)")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--augment", default="weak", choices=["none", "weak", "strong"])
    ap.add_argument("--dict", default="dataset", choices=["dataset", "default"],
                    help="dataset: wire_markers/dict.txt (CTC head surgery); default: the PP-OCR dict")
    ap.add_argument("--eval-interval", type=int, default=2)
    args = ap.parse_args()

    model, charset, _ = load_preset("PP-OCRv4-mobile-rec")
    zero = _test_metrics(Recognizer(model, charset, "cpu", batch_size=6))
    print(f"zero-shot port (default dict): {_fmt(zero)}", flush=True)

    extra = {"dict_file": str(resource_path(PPOCR_DEFAULT_DICT))} if args.dict == "default" else {}
    cfg = RecTrainConfig(arch="PP-OCRv4-mobile-rec", pretrained="PP-OCRv4-mobile-rec", data_dir=str(DATA),
                      output_dir=args.out, epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.lr,
                      warmup_steps=10, workers=0, augment=args.augment, device="cpu", seed=0, use_space=True,
                      eval_interval=args.eval_interval, save_periodic=False, eval_batch_size=64, log_interval=2,
                      **extra)
    t0 = time.perf_counter()
    result = run_rec(cfg)
    minutes = (time.perf_counter() - t0) / 60
    print(f"fine-tuned {result.step} steps ({result.epoch} epochs) in {minutes:.1f} min; best val exact "
          f"{100 * (result.best or 0):.1f}%", flush=True)
    best = Recognizer.from_weights(Path(args.out) / "checkpoints" / "best.pt", device="cpu", batch_size=6)
    print(f"fine-tuned ({args.dict} dict), best on val: {_fmt(_test_metrics(best))}")
    print(f"threads: {torch.get_num_threads()}")


if __name__ == "__main__":
    main()
