"""Run a detector (or the full OCR pipeline) over a detection dataset and report: summary, per-image results,
pictures of misses and false alarms, and the end-to-end metric.

Samples are ``semiocr.core.data.detection.DetSampleLike`` (its ``DetSample``, say): path, polygons, texts,
ignore flags and source. End-to-end: detection Hmean from the pipeline's line polygons, plus ``e2e_exact`` = the
share of care ground-truth lines matched by a read line (IoU > 0.5) whose text equals the transcription exactly.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from semiocr.core.data.detection import DetSampleLike
from semiocr.core.data.images import read_image
from semiocr.core.eval.detection import ImageDetResult, aggregate, draw_errors, evaluate_image

Progress = Callable[[int, int], None]  # (done, total)


def _image_record(sample: DetSampleLike, res: ImageDetResult, extra: dict[str, Any]) -> dict[str, Any]:
    return {"path": str(sample.path), **{k: round(v, 6) for k, v in res.metrics().items()}, "n_gt": res.n_gt,
            "n_det": res.n_det, "n_match": res.n_match, "missed": res.missed, "false_alarms": res.false_alarms,
            **extra}


class _Writer:
    """Pictures (bounded in number) and the per-image JSONL/summary files of one report directory."""

    def __init__(self, out_dir: str | Path | None, max_pictures: int):
        self.out = Path(out_dir) if out_dir else None
        self.max_pictures, self.n_pictures = max_pictures, 0
        if self.out:
            (self.out / "errors").mkdir(parents=True, exist_ok=True)

    def picture(self, img: np.ndarray, sample: DetSampleLike, polys: Sequence, res: ImageDetResult) -> None:
        if self.out and (res.missed or res.false_alarms) and self.n_pictures < self.max_pictures:
            self.n_pictures += 1
            name = f"{self.n_pictures:04d}_{Path(sample.path).stem}.jpg"
            cv2.imwrite(str(self.out / "errors" / name), draw_errors(img, sample.polygons, polys, res))

    def finish(self, summary: dict[str, Any], per_image: list[dict[str, Any]]) -> None:
        if self.out:
            with open(self.out / "per_image.jsonl", "w", encoding="utf-8") as f:
                f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in per_image)
            (self.out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")


def evaluate_detection(detect: Callable[[np.ndarray], np.ndarray], samples: Sequence[DetSampleLike],
                       out_dir: str | Path | None = None, max_pictures: int = 100,
                       progress: Progress | None = None) -> dict[str, Any]:
    """``detect(image) -> polygons`` over ``samples``: ``{"summary": {precision, recall, hmean, counts},
    "per_image": [...]}``; with ``out_dir``, also ``summary.json``, ``per_image.jsonl`` and ``errors/*.jpg``.
    ``progress(done, total)`` is called after each image."""
    writer = _Writer(out_dir, max_pictures)
    results, per_image = [], []
    for i, sample in enumerate(samples, start=1):
        img = read_image(sample.path, sample.source)
        polys = [np.asarray(p, np.float32) for p in detect(img)]
        res = evaluate_image(sample.polygons, sample.ignore, polys)
        results.append(res)
        per_image.append(_image_record(sample, res, {}))
        writer.picture(img, sample, polys, res)
        if progress is not None:
            progress(i, len(samples))
    summary = aggregate(results)
    writer.finish(summary, per_image)
    return {"summary": summary, "per_image": per_image}


def evaluate_e2e(pipeline: Callable[[np.ndarray], Any], samples: Sequence[DetSampleLike],
                 out_dir: str | Path | None = None, max_pictures: int = 100,
                 progress: Progress | None = None) -> dict[str, Any]:
    """Full pipeline over a page dataset: detection metrics of the read lines plus ``e2e_exact`` (see module)."""
    writer = _Writer(out_dir, max_pictures)
    results, per_image, n_exact = [], [], 0
    for i, sample in enumerate(samples, start=1):
        img = read_image(sample.path, sample.source)
        lines = pipeline(img).lines
        polys = [np.asarray(line.polygon, np.float32) for line in lines]
        res = evaluate_image(sample.polygons, sample.ignore, polys)
        exact = [g for g, d, _ in res.matches if lines[d].text.strip() == sample.texts[g].strip()]
        n_exact += len(exact)
        results.append(res)
        per_image.append(_image_record(sample, res, {"n_exact": len(exact), "texts": [ln.text for ln in lines]}))
        writer.picture(img, sample, polys, res)
        if progress is not None:
            progress(i, len(samples))
    summary = aggregate(results)
    summary["e2e_exact"] = n_exact / summary["n_gt"] if summary["n_gt"] else 1.0
    summary["n_exact"] = n_exact
    writer.finish(summary, per_image)
    return {"summary": summary, "per_image": per_image}
