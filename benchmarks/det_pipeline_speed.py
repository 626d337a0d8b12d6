"""Full-pipeline speed (detect → crop → recognise), ms per image: semiocr vs RapidOCR 1.4.4 (det + rec, no angle
classifier) on the same images in the same run, interleaved image by image so machine load hits both alike.
Also reports how often both give identical text and the largest box-corner difference.

    PYTHONPATH=src python benchmarks/det_pipeline_speed.py \
        --images '../shared/data/poilus_handwriting/images/pages/*.jpg' --limit 20 --threads 2
"""

from __future__ import annotations

import argparse
import glob
import json
import statistics
import time

import cv2
import numpy as np
import torch
from rapidocr_onnxruntime import RapidOCR

from semiocr.core.inference.pipeline import build_pipeline


def _timed(fn, img):  # noqa: ANN001, ANN202 - tiny helper
    t0 = time.perf_counter()
    out = fn(img)
    return out, (time.perf_counter() - t0) * 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", required=True, help="glob of images")
    ap.add_argument("--limit", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--det", default="PP-OCRv4-mobile-det")
    ap.add_argument("--rec", default="PP-OCRv4-mobile-rec")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    paths = sorted(glob.glob(args.images))[: args.limit]
    ours = build_pipeline(args.det, args.rec)
    rapid = RapidOCR(intra_op_num_threads=args.threads, inter_op_num_threads=1)
    warm = cv2.imread(paths[0])
    ours(warm), rapid(warm, use_cls=False)
    ms_ours, ms_rapid, same_text, max_diff, lines = [], [], 0, 0.0, 0
    for p in paths:
        img = cv2.imread(p)
        res, t_ours = _timed(ours, img)
        (ref, _), t_rapid = _timed(lambda im: rapid(im, use_cls=False), img)
        ref = ref or []
        ms_ours.append(t_ours)
        ms_rapid.append(t_rapid)
        same = [ln.text for ln in res.lines] == [r[1] for r in ref]
        same_text += same
        lines += len(ref)
        if same and ref:
            diff = np.abs(np.array([ln.polygon for ln in res.lines]) - np.array([r[0] for r in ref], np.float32))
            max_diff = max(max_diff, float(diff.max()))
    print(json.dumps({
        "images": args.images, "n": len(paths), "threads": args.threads, "lines": lines,
        "semiocr_ms_mean": round(statistics.mean(ms_ours), 1),
        "semiocr_ms_median": round(statistics.median(ms_ours), 1),
        "rapidocr_ms_mean": round(statistics.mean(ms_rapid), 1),
        "rapidocr_ms_median": round(statistics.median(ms_rapid), 1),
        "identical_text_images": same_text, "max_box_diff_px": max_diff}))


if __name__ == "__main__":
    main()
