"""Recognition metrics (exact / caseless / space-free accuracy, 1 − NED, CER), per-sample CSV, worst errors.

1 − NED follows PaddleOCR: mean over samples of ``1 - Lev(pred, truth) / max(len(pred), len(truth))``.
CER is corpus-level: total edit distance / total truth characters.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rapidfuzz.distance import Levenshtein

from semiocr.runtime.ctc import Decoded


def rec_metrics(preds: Sequence[str], truths: Sequence[str]) -> dict[str, float]:
    """``acc``, ``acc_caseless``, ``acc_nospace``, ``norm_edit`` (1 − NED), ``cer`` and ``n``."""
    if len(preds) != len(truths):
        raise ValueError(f"{len(preds)} predictions for {len(truths)} labels")
    n = len(truths)
    if n == 0:
        return {"acc": 0.0, "acc_caseless": 0.0, "acc_nospace": 0.0, "norm_edit": 0.0, "cer": 0.0, "n": 0}
    exact = sum(p == t for p, t in zip(preds, truths, strict=True))
    caseless = sum(p.casefold() == t.casefold() for p, t in zip(preds, truths, strict=True))
    nospace = sum("".join(p.split()) == "".join(t.split()) for p, t in zip(preds, truths, strict=True))
    ned = sum(Levenshtein.normalized_distance(p, t) for p, t in zip(preds, truths, strict=True))
    edits = sum(Levenshtein.distance(p, t) for p, t in zip(preds, truths, strict=True))
    chars = sum(len(t) for t in truths)
    return {"acc": exact / n, "acc_caseless": caseless / n, "acc_nospace": nospace / n,
            "norm_edit": 1.0 - ned / n, "cer": edits / chars if chars else float(edits > 0), "n": n}


@dataclass(frozen=True)
class SampleResult:
    """One row of the per-sample table."""

    image: str
    truth: str
    prediction: str
    confidence: float

    @property
    def correct(self) -> bool:
        return self.prediction == self.truth

    @property
    def edit_distance(self) -> int:
        return Levenshtein.distance(self.prediction, self.truth)


def sample_results(paths: Sequence[str], truths: Sequence[str], decoded: Sequence[Decoded]) -> list[SampleResult]:
    return [SampleResult(str(p), t, d.text, d.confidence) for p, t, d in zip(paths, truths, decoded, strict=True)]


def write_csv(rows: Sequence[SampleResult], path: str | Path) -> Path:
    """Per-sample table: image, truth, prediction, confidence, correct, edit_distance (UTF-8 CSV)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["image", "truth", "prediction", "confidence", "correct", "edit_distance"])
        for r in rows:
            w.writerow([r.image, r.truth, r.prediction, f"{r.confidence:.4f}", int(r.correct), r.edit_distance])
    return path


def worst_errors(rows: Sequence[SampleResult], k: int = 16) -> list[SampleResult]:
    """The ``k`` wrong rows with the largest edit distance (ties: most confident first)."""
    wrong = [r for r in rows if not r.correct]
    return sorted(wrong, key=lambda r: (-r.edit_distance, -r.confidence))[:k]


def draw_worst_errors(rows: Sequence[SampleResult], path: str | Path, k: int = 16) -> Path | None:
    """Draw the worst errors (image with truth / prediction / confidence) into a PNG; None if none wrong."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from semiocr.core.data.images import read_image

    worst = worst_errors(rows, k)
    if not worst:
        return None
    fig, axes = plt.subplots(len(worst), 1, figsize=(6, 1.1 * len(worst)), squeeze=False)
    for ax, r in zip(axes[:, 0], worst, strict=True):
        try:
            img = read_image(r.image)[:, :, ::-1]
        except ValueError:
            img = np.zeros((8, 32, 3), np.uint8)
        ax.imshow(img)
        ax.set_axis_off()
        ax.set_title(f"truth: {r.truth!r}  pred: {r.prediction!r}  conf {r.confidence:.2f}", fontsize=7, loc="left")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def evaluate_samples(recognizer, samples: Sequence, out_dir: str | Path | None = None,
                     worst_k: int = 16) -> tuple[dict[str, float], list[SampleResult]]:
    """Run ``recognizer`` (a ``Recognizer``) on labelled ``Sample``s; metrics and per-sample rows.

    With ``out_dir``: writes ``predictions.csv``, ``worst_errors.png`` and ``metrics.json`` there.
    """
    import json

    from semiocr.core.data.images import read_image

    images = [read_image(s.path, s.source) for s in samples]
    decoded = recognizer.predict(images)
    truths = [s.text or "" for s in samples]
    rows = sample_results([str(s.path) for s in samples], truths, decoded)
    metrics = rec_metrics([d.text for d in decoded], truths)
    if out_dir is not None:
        out = Path(out_dir)
        write_csv(rows, out / "predictions.csv")
        draw_worst_errors(rows, out / "worst_errors.png", worst_k)
        (out / "metrics.json").write_text(json.dumps(metrics, indent=2), encoding="utf-8")
    return metrics, rows
