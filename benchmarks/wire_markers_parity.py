"""Parity of the PyTorch port with onnxruntime on real wire_markers images (rec crops and det photos).

Usage: PYTHONPATH=src python benchmarks/wire_markers_parity.py [--det-images 40] [--no-f64] [--only rec|det]
Reports max |dprob| of the port against onnxruntime (fused = default session, and un-fused graph), between the
two onnxruntime sessions, and of each against a float64 run of the port (numerical ground truth), plus decoded
text agreement. Rec batches follow RapidOCR (sorted by aspect ratio, 6 per batch).
"""

from __future__ import annotations

import argparse
import copy

import cv2
import numpy as np
import torch
from wire_markers_common import DATA, load_split, rapid_batches, texts_of

from semiocr.core.models.pretrained import load_preset, reference_session
from semiocr.runtime.rec_preprocess import preprocess_batch

COLUMNS = ("port~ort", "port~ort_unfused", "ort~ort_unfused", "port~f64", "ort~f64")


def _diffs(x: np.ndarray, model: torch.nn.Module, model64: torch.nn.Module | None, sessions, post) -> np.ndarray:
    with torch.no_grad():
        ours = post(model(torch.from_numpy(x))).numpy()
        truth = post(model64(torch.from_numpy(x).double())).numpy() if model64 is not None else None
    fused, raw = (s.run(None, {"x": x})[0] for s in sessions)
    d = [np.abs(ours - fused).max(), np.abs(ours - raw).max(), np.abs(fused - raw).max()]
    d += [np.abs(ours - truth).max(), np.abs(fused - truth).max()] if truth is not None else [np.nan, np.nan]
    return np.array(d)


def rec_parity(f64: bool) -> None:
    images, _ = load_split("test.txt")
    model, charset, _ = load_preset("PP-OCRv4-mobile-rec")
    model64 = copy.deepcopy(model).double() if f64 else None
    sessions = [reference_session("PP-OCRv4-mobile-rec", optimize=o) for o in (True, False)]
    soft = lambda t: torch.softmax(t, dim=-1)  # noqa: E731
    rows, same = [], 0
    for batch in rapid_batches(images):
        x = preprocess_batch([images[i] for i in batch])
        rows.append(_diffs(x, model, model64, sessions, soft))
        with torch.no_grad():
            ours = texts_of(soft(model(torch.from_numpy(x))).numpy(), charset)
        same += sum(a == b for a, b in zip(ours, texts_of(sessions[0].run(None, {"x": x})[0], charset), strict=True))
    _report(f"rec: {len(images)} test crops, {len(rows)} batches; identical text {same}/{len(images)}", rows)


def det_parity(n: int, f64: bool) -> None:
    paths = [line.split("\t")[0] for line in (DATA / "det_test.txt").read_text(encoding="utf-8").splitlines()][:n]
    model, _, meta = load_preset("PP-OCRv4-mobile-det")
    model64 = copy.deepcopy(model).double() if f64 else None
    sessions = [reference_session("PP-OCRv4-mobile-det", optimize=o) for o in (True, False)]
    norm = meta["normalize"]
    rows = []
    for p in paths:
        img = cv2.imread(str(DATA / p), cv2.IMREAD_COLOR)
        h, w = img.shape[:2]
        ratio = max(1.0, meta["limit_side_len"] / min(h, w))
        size = tuple(max(32, int(round(int(v * ratio) / 32)) * 32) for v in (w, h))
        x = (cv2.resize(img, size).astype(np.float32) * norm["scale"] - np.float32(norm["mean"])) / np.float32(
            norm["std"])
        rows.append(_diffs(x.transpose(2, 0, 1)[None].astype(np.float32), model, model64, sessions, lambda t: t))
    _report(f"det: {len(paths)} det_test photos (short side {meta['limit_side_len']})", rows)


def _report(title: str, rows: list[np.ndarray]) -> None:
    a = np.stack(rows)
    print(title)
    for name, col in zip(COLUMNS, a.T, strict=True):
        if not np.isnan(col).all():
            print(f"  max |d| {name:17s} {col.max():.2e}   (median over inputs {np.median(col):.2e}, "
                  f"<=1e-4 on {int((col <= 1e-4).sum())}/{len(col)})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--det-images", type=int, default=40)
    ap.add_argument("--no-f64", action="store_true", help="skip the float64 reference runs")
    ap.add_argument("--only", choices=["rec", "det"], help="run one part only")
    args = ap.parse_args()
    torch.set_grad_enabled(False)
    if args.only != "det":
        rec_parity(not args.no_f64)
    if args.only != "rec":
        det_parity(args.det_images, not args.no_f64)


if __name__ == "__main__":
    main()
