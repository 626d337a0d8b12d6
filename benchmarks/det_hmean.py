"""Detection Hmean (ICDAR 2015 protocol) of a detector on a PaddleOCR Label.txt split.

    PYTHONPATH=src python benchmarks/det_hmean.py --det PP-OCRv4-mobile-det \
        --data ../shared/data/poilus_handwriting --split det_test.txt [--out benchmarks/out/x] [-o box_thresh=0.6]

Prints one JSON line: detector, dataset, split, settings, precision/recall/Hmean and counts, seconds.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from semiocr.core.data.detection import read_det_labels
from semiocr.core.eval.det_report import evaluate_detection
from semiocr.core.inference.detector import TextDetector
from semiocr.core.weights.load import load_detector_model
from semiocr.runtime.det_postprocess import DBPostprocessConfig


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--det", required=True, help="preset name or detector checkpoint / run dir")
    ap.add_argument("--data", required=True)
    ap.add_argument("--split", default="det_test.txt")
    ap.add_argument("--limit", type=int, default=None, help="first N images only")
    ap.add_argument("--out", default=None, help="report dir (per-image JSONL, error pictures)")
    ap.add_argument("-o", dest="post", action="append", default=[], help="postprocess override key=value")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--limit-side-len", type=int, default=None, help="override the weights' side limit")
    ap.add_argument("--limit-type", choices=["min", "max"], default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    samples = read_det_labels(Path(args.data), args.split)[: args.limit]
    model, w = load_detector_model(args.det)
    meta = dict(w.meta.input)
    if args.limit_side_len:
        meta["limit_side_len"] = args.limit_side_len
    if args.limit_type:
        meta["limit_type"] = args.limit_type
    post = DBPostprocessConfig(**{k: float(v) for k, v in (s.split("=", 1) for s in args.post)})
    det = TextDetector(model, meta, post=post)
    t0 = time.perf_counter()
    rep = evaluate_detection(lambda img: det(img).boxes, samples, out_dir=args.out)
    print(json.dumps({"det": args.det, "data": Path(args.data).name, "split": args.split, "post": vars(post),
                      "limit": [meta.get("limit_side_len"), meta.get("limit_type")],
                      **{k: round(v, 4) if isinstance(v, float) else v for k, v in rep["summary"].items()},
                      "seconds": round(time.perf_counter() - t0, 1)}))


if __name__ == "__main__":
    main()
