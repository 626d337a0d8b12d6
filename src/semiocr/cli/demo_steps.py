"""The steps of ``semiocr demo`` (see ``semiocr.cli.demo``): generate, check, register, train, evaluate, OCR.

Each step takes the demo's ``DemoContext``, calls the same public API as the CLI, records its output paths
and numbers in ``ctx.results`` and returns one line for the console.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from semiocr.cli.console import ConsoleSink
from semiocr.cli.demo_presets import DEMO_DATASET, DET_PRESET, DemoContext
from semiocr.core.data.synth import generate_dataset
from semiocr.core.data.validate import validate_dataset
from semiocr.core.events import CheckpointSaved, Event
from semiocr.platform.datasets import DatasetStore


class DemoSink:
    """Console view of the LMSSL run on stdout: progress bars, stage, pseudo-label and eval lines (checkpoint
    saves are left to the run's ``events.jsonl``)."""

    def __init__(self) -> None:
        self.console = ConsoleSink(stream=sys.stdout)

    def __call__(self, event: Event) -> None:
        if not isinstance(event, CheckpointSaved):
            self.console(event)


def step_generate(ctx: DemoContext) -> str:
    """Write the synthetic dataset (kept when a previous demo already wrote it: generation is seeded)."""
    if (ctx.dataset_dir / "train.txt").is_file():
        return f"reusing the generated dataset in {ctx.dataset_dir}"
    generate_dataset(ctx.dataset_dir, ctx.synth)
    s = ctx.synth
    return (f"generated {s.n_train} train / {s.n_val} val / {s.n_test} test / {s.n_unlabeled} unlabelled lines "
            f"and {s.pages_train + s.pages_val} pages in {ctx.dataset_dir}")


def step_validate(ctx: DemoContext) -> str:
    """Validate the dataset; write report.json and histogram PNGs; stop the demo on errors."""
    report = validate_dataset(ctx.dataset_dir)
    report_dir = ctx.out / "report"
    report.write_json(report_dir / "report.json")
    report.write_plots(report_dir)
    if not report.ok:
        raise RuntimeError("the generated dataset failed validation:\n" + report.summary())
    ctx.results["report"] = report
    ctx.results["report_dir"] = report_dir
    return f"validated: {len(report.errors)} errors, {len(report.warnings)} warnings; report in {report_dir}"


def step_register(ctx: DemoContext) -> str:
    """Register the dataset in the workspace store (identical content is not stored twice)."""
    res = DatasetStore().add(ctx.dataset_dir, DEMO_DATASET)
    ctx.results["dataset"] = res.dataset
    verb = "registered" if res.created else "already registered as"
    return f"{verb} {res.dataset.ref} ({res.dataset.hash[:19]}…) in {DatasetStore().root}"


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def _val(summary: Mapping[str, Any], model: str, col: str, key: str = "acc") -> float | None:
    return (summary.get(model, {}).get(col) or {}).get(key)


def pseudo_label_quality(run_dir: Path, data_root: Path) -> dict[str, float]:
    """Kept count and exact-match precision of the final pseudo-labels against ``unlabeled_truth.txt``
    (the generator writes it for measuring only; the training run never reads it). Empty without that file."""
    from semiocr.core.data.labels import read_text_lines
    from semiocr.core.ssl import pseudo_label as pl

    truth_file = data_root / "unlabeled_truth.txt"
    meta = json.loads((run_dir / "pseudo" / "final.json").read_text(encoding="utf-8"))
    out = {"pool": float(meta["predicted"]), "kept": float(meta["kept"])}
    if not truth_file.is_file():
        return out
    truth = dict(line.split("\t", 1) for _, line in read_text_lines(truth_file))
    ranked = pl.read_pseudo_labels(run_dir / "pseudo" / "final.tsv", data_root)  # best first, as selected
    out["precision_kept"] = pl.precision(ranked[:int(meta["kept"])], truth, data_root)["precision"]
    out["precision_all"] = pl.precision(ranked, truth, data_root)["precision"]
    return out


def step_lmssl(ctx: DemoContext) -> str:
    """Joint LMSSL run on the registered dataset: large (semi-supervised) → pseudo-labels → distilled small."""
    from semiocr.core.ssl.config import LmsslConfig
    from semiocr.core.ssl.recipe import run_lmssl

    raw = dict(ctx.preset.lmssl)
    raw["data"] = {**raw.get("data", {}), "root": str(ctx.data_root)}
    cfg = LmsslConfig.model_validate({**raw, "output_dir": str(ctx.run_dir)})
    summary = run_lmssl(cfg, sink=DemoSink()).summary
    run = ctx.run_dir
    ctx.results.update(run_dir=run, run_config=run / "config.yaml", large_best=run / "large_best.pt",
                       small_best=run / "small_best.pt", pseudo_labels=run / "pseudo_labels.tsv",
                       summary_table=run / "summary.md", lmssl_summary=summary,
                       pseudo=pseudo_label_quality(run, ctx.data_root))
    q = ctx.results["pseudo"]
    return (f"val acc: large {_pct(_val(summary, 'large', 'start'))} → {_pct(_val(summary, 'large', 'final'))}, "
            f"small {_pct(_val(summary, 'small', 'start'))} → {_pct(_val(summary, 'small', 'final'))}; "
            f"{int(q['kept'])}/{int(q['pool'])} pseudo-labels kept ({_pct(q.get('precision_kept'))} exact); "
            f"run in {run}")


def step_evaluate(ctx: DemoContext) -> str:
    """Evaluate the best small model on ``test.txt``: metrics.json, predictions.csv, worst_errors.png."""
    from semiocr.core.data.labels import read_labelled
    from semiocr.core.eval.recognition import evaluate_samples
    from semiocr.core.inference.recognizer import Recognizer

    out = ctx.out / "eval_small_test"
    rec = Recognizer.from_weights(ctx.path("small_best"), device="auto")
    metrics, _ = evaluate_samples(rec, read_labelled(ctx.data_root, "test.txt"), out_dir=out)
    ctx.results.update(eval_dir=out, eval_metrics=metrics)
    return (f"small model on test.txt ({metrics['n']} lines): acc {_pct(metrics['acc'])}, caseless "
            f"{_pct(metrics['acc_caseless'])}, 1-NED {_pct(metrics['norm_edit'])}, CER {_pct(metrics['cer'])}; "
            f"predictions.csv, worst_errors.png, metrics.json in {out}")


def step_ocr(ctx: DemoContext) -> str:
    """Full-page OCR of the first validation pages: imported PP-OCRv4 mobile detector → the demo's small model.
    Writes ``<page>.json`` and ``<page>.jpg`` (boxes left, text right) plus the end-to-end report."""
    import cv2

    from semiocr.core.data.detection import read_det_labels
    from semiocr.core.data.images import read_image
    from semiocr.core.eval.det_report import evaluate_e2e
    from semiocr.core.inference.device import resolve_device
    from semiocr.core.inference.pipeline import build_pipeline
    from semiocr.runtime.pipeline import draw_result

    out = ctx.out / "ocr"
    out.mkdir(parents=True, exist_ok=True)
    pages = read_det_labels(ctx.data_root, "det_val.txt")[:ctx.preset.ocr_pages]
    pipeline = build_pipeline(DET_PRESET, ctx.path("small_best"), device=str(resolve_device("auto")))
    results = []

    def read_page(img):
        results.append(pipeline(img))
        return results[-1]

    report = evaluate_e2e(read_page, pages, out_dir=out / "e2e_report")
    pictures = []
    for page, result in zip(pages, results, strict=True):
        stem = Path(page.path).stem
        doc = {"image": str(page.path), **result.to_dict()}
        (out / f"{stem}.json").write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
        cv2.imwrite(str(out / f"{stem}.jpg"), draw_result(read_image(page.path), result))
        pictures.append(out / f"{stem}.jpg")
    s = report["summary"]
    ctx.results.update(ocr_dir=out, ocr_pictures=pictures, ocr_summary=s)
    return (f"{len(pages)} page(s), {sum(len(r.lines) for r in results)} lines read; detection Hmean "
            f"{_pct(s['hmean'])}, ground-truth lines read exactly {_pct(s['e2e_exact'])} "
            f"({s['n_exact']}/{s['n_gt']}); JSON + pictures in {out}")


def _outputs(ctx: DemoContext) -> list[tuple[str, str]]:
    r = ctx.results
    rows = [("generated dataset", ctx.dataset_dir), ("validation report", r.get("report_dir")),
            ("registered dataset", ctx.data_root if "dataset" in r else None), ("LMSSL run dir", r.get("run_dir")),
            ("resolved run config (semiocr train lmssl -c …)", r.get("run_config")),
            ("pseudo-labels (path, text, confidence)", r.get("pseudo_labels")),
            ("summary table", r.get("summary_table")), ("best large weights", r.get("large_best")),
            ("best small weights", r.get("small_best")), ("evaluation report (test.txt)", r.get("eval_dir"))]
    rows += [("OCR picture", p) for p in r.get("ocr_pictures", [])]
    rows += [("offline package (unzip; python -m semiocr_runtime verify | ocr | serve)", r.get("package")),
             ("OCR service answer to one request", r.get("service_answer"))]
    return [(name, str(path)) for name, path in rows if path is not None]


def _headline(ctx: DemoContext) -> dict[str, float]:
    r, h = ctx.results, {}
    summary = r.get("lmssl_summary") or {}
    for model in ("large", "small"):
        for col in ("start", "final"):
            if (v := _val(summary, model, col)) is not None:
                h[f"{model}_val_acc_{col}"] = v
    for key, value in (r.get("pseudo") or {}).items():
        h[f"pseudo_{key}"] = value
    for key in ("acc", "acc_caseless", "norm_edit", "cer"):
        if key in (r.get("eval_metrics") or {}):
            h[f"small_test_{key}"] = r["eval_metrics"][key]
    for key in ("hmean", "e2e_exact"):
        if key in (r.get("ocr_summary") or {}):
            h[f"ocr_{key}"] = r["ocr_summary"][key]
    return {k: round(float(v), 4) for k, v in h.items()}


def step_summary(ctx: DemoContext) -> str:
    """Print and write (``summary.md`` / ``summary.json``) every output path and the headline numbers."""
    outputs, headline = _outputs(ctx), _headline(ctx)
    ctx.results["headline"] = headline
    lines = ["# semiocr demo", "", "| output | path |", "|---|---|"]
    lines += [f"| {name} | `{path}` |" for name, path in outputs]
    lines += ["", "| number | value |", "|---|---|"]
    lines += [f"| {k} | {_pct(v) if k != 'pseudo_pool' and k != 'pseudo_kept' else int(v)} |"
              for k, v in headline.items()]
    text = "\n".join(lines) + "\n"
    (ctx.out / "summary.md").write_text(text, encoding="utf-8")
    doc = {"outputs": [{"what": n, "path": p} for n, p in outputs], "headline": headline}
    (ctx.out / "summary.json").write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    print(text, flush=True)
    return f"{len(outputs)} outputs, {len(headline)} numbers; written to {ctx.out / 'summary.md'} and summary.json"
