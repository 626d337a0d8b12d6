"""The deployable runtime against RapidOCR 1.4.4, same images, same run, interleaved image by image: full-page
pipeline ms per image (ONNX Runtime det + rec, no angle classifier) and recognition ms per line, plus how often
both read identical text. Thread counts are stated; the ratio (ours / RapidOCR) is what counts.

    PYTHONPATH=src python benchmarks/runtime_speed.py --pages '../shared/data/wire_markers/images/full/*.jpg' \
        --lines '../shared/data/wire_markers/images/crops/*.jpg' --limit 50 --threads 1
"""

from __future__ import annotations

import argparse
import glob
import json
import statistics
import time

import cv2
from rapidocr_onnxruntime import RapidOCR

from semiocr.runtime.onnx_runner import load_pipeline


def _ms(fn, *args):  # noqa: ANN001, ANN202 - tiny timing helper
    t0 = time.perf_counter()
    out = fn(*args)
    return out, (time.perf_counter() - t0) * 1e3


def main() -> None:
    from semiocr.core.models.pretrained import onnx_path

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", required=True, help="glob of page images")
    ap.add_argument("--lines", help="glob of text-line crops (recognition only)")
    ap.add_argument("--limit", type=int, default=50)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--det", default=str(onnx_path("PP-OCRv4-mobile-det")), help="ONNX file")
    ap.add_argument("--rec", default=str(onnx_path("PP-OCRv4-mobile-rec")), help="ONNX file")
    args = ap.parse_args()
    ours = load_pipeline(args.det, args.rec, threads=args.threads)
    rapid = RapidOCR(intra_op_num_threads=args.threads, inter_op_num_threads=1)
    pages = [cv2.imread(p) for p in sorted(glob.glob(args.pages))[: args.limit]]
    ours(pages[0]), rapid(pages[0], use_cls=False)  # warm-up
    t_ours, t_rapid, same = [], [], 0
    for img in pages:
        res, a = _ms(ours, img)
        (ref, _), b = _ms(lambda im: rapid(im, use_cls=False), img)
        t_ours.append(a)
        t_rapid.append(b)
        same += [ln.text for ln in res.lines] == [r[1] for r in (ref or [])]
    report = {"pages": args.pages, "n_pages": len(pages), "threads": args.threads,
              "page_ms_ours": round(statistics.mean(t_ours), 1), "page_ms_rapidocr": round(statistics.mean(t_rapid), 1),
              "page_ratio": round(sum(t_ours) / sum(t_rapid), 3), "pages_same_text": same}
    if args.lines:
        crops = [cv2.imread(p) for p in sorted(glob.glob(args.lines))[: args.limit]]
        rec = ours.recognizer
        rec.predict(crops[:2]), rapid(crops[0], use_det=False, use_cls=False)
        l_ours, l_rapid, same_lines = [], [], 0
        for img in crops:
            [d], a = _ms(rec.predict, [img])
            (ref, _), b = _ms(lambda im: rapid(im, use_det=False, use_cls=False), img)
            l_ours.append(a)
            l_rapid.append(b)
            same_lines += bool(ref) and d.text == ref[0][0]
        report.update(lines=args.lines, n_lines=len(crops), line_ms_ours=round(statistics.mean(l_ours), 2),
                      line_ms_rapidocr=round(statistics.mean(l_rapid), 2),
                      line_ratio=round(sum(l_ours) / sum(l_rapid), 3), lines_same_text=same_lines)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
