"""Zero-shot PP-OCRv4 mobile rec on wire_markers test: our PyTorch port vs RapidOCR 1.4.4 (must be equal).

Usage: PYTHONPATH=src python benchmarks/wire_markers_zeroshot.py [--split test.txt]
Also reports max |dprob| between the port and onnxruntime on the very same batches.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from wire_markers_common import exact, load_split, predict_probs, texts_of, torch_runner

from semiocr.core.models.pretrained import load_preset, onnx_path, reference_session


def rapidocr_texts(images: list[np.ndarray]) -> list[str]:
    """RapidOCR's own recognizer (its batching, preprocessing and decoder) with its packaged config."""
    import yaml
    from rapidocr_onnxruntime.ch_ppocr_rec import TextRecognizer

    cfg_path = Path(onnx_path("PP-OCRv4-mobile-rec")).parents[1] / "config.yaml"
    cfg = yaml.safe_load(cfg_path.read_text())["Rec"]
    cfg["model_path"] = str(onnx_path("PP-OCRv4-mobile-rec"))
    cfg["intra_op_num_threads"] = 1
    results, _ = TextRecognizer(cfg)(images)
    return [r[0] for r in results]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", default="test.txt")
    args = ap.parse_args()
    images, labels = load_split(args.split)
    t0 = time.perf_counter()
    rapid = rapidocr_texts(images)
    t_rapid = time.perf_counter() - t0
    model, charset, _ = load_preset("PP-OCRv4-mobile-rec")
    t0 = time.perf_counter()
    ours_probs = predict_probs(torch_runner(model), images)
    t_ours = time.perf_counter() - t0
    sess = reference_session("PP-OCRv4-mobile-rec")
    ref_probs = predict_probs(lambda x: sess.run(None, {"x": x})[0], images)
    ours = texts_of(ours_probs, charset)
    diff = max(float(np.abs(a - b).max()) for a, b in zip(ours_probs, ref_probs, strict=True))
    same = sum(a == b for a, b in zip(ours, rapid, strict=True))
    print(f"lines: {len(labels)} ({args.split})")
    print(f"RapidOCR 1.4.4 rec exact: {exact(rapid, labels):.1f}%  ({t_rapid:.1f} s)")
    print(f"PyTorch port   rec exact: {exact(ours, labels):.1f}%  ({t_ours:.1f} s)")
    print(f"identical text on {same}/{len(labels)} lines; max |dprob| port vs onnxruntime: {diff:.2e}")


if __name__ == "__main__":
    main()
