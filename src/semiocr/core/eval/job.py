"""The ``eval`` job: score any weights on a labelled split of a dataset folder, keeping the metrics, every
prediction and a picture of the worst errors. What ``semiocr eval`` does, as a job that a managed evaluation task
runs (its log, settings and results kept like a training run's). The folder is not validated first: a malformed
label file or image fails the job with the file and line in its log."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from semiocr.core.eval.config import EvalJobConfig
from semiocr.core.events import (
    EventSink,
    JobFinished,
    LogLine,
    MultiSink,
    StopRequested,
    WorkProgress,
    check_stop,
    ignore,
    never,
)
from semiocr.core.job import JobResult


def run_eval(cfg: EvalJobConfig, sink: EventSink | None = None,
             should_stop: Callable[[], bool] | None = None) -> JobResult:
    """Evaluate; ``metrics.json``, ``predictions.csv`` / ``per_image.jsonl`` and pictures land in ``output_dir``."""
    sink = MultiSink(sink or ignore)
    stop = should_stop or never
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)

    def progress(done: int, total: int) -> None:
        check_stop(stop)
        sink(WorkProgress(what=f"eval {cfg.task}", done=done, total=total))

    metric = "acc" if cfg.task == "rec" else "hmean"
    try:
        metrics = _eval_rec(cfg, out, sink, progress) if cfg.task == "rec" else _eval_det(cfg, out, progress)
    except StopRequested:
        sink(JobFinished(status="stopped", output_dir=str(out)))
        return JobResult(kind="eval", status="stopped", output_dir=out, metric=metric, best=None,
                         message="stopped; run it again to evaluate from the start")
    sink(JobFinished(status="succeeded", output_dir=str(out), summary={"metrics": metrics}))
    return JobResult(kind="eval", status="succeeded", output_dir=out, metric=metric, best=metrics.get(metric),
                     metrics=metrics)


def _eval_rec(cfg: EvalJobConfig, out: Path, sink: EventSink, progress: Callable[[int, int], None]
              ) -> dict[str, float]:
    from semiocr.core.data.labels import read_labelled
    from semiocr.core.eval.recognition import evaluate_samples
    from semiocr.core.inference.recognizer import Recognizer

    rec = Recognizer.from_weights(cfg.weights, device=cfg.device, batch_size=cfg.batch_size,
                                  rotate_180=cfg.rotate_180)
    samples = read_labelled(Path(cfg.data_dir), cfg.split or "val.txt")
    sink(LogLine(message=f"{len(samples)} lines of {cfg.data_dir}/{cfg.split or 'val.txt'}, weights "
                         f"{rec.meta.path if rec.meta else cfg.weights}"))
    done = 0

    def on_batch(n: int) -> None:
        nonlocal done
        done += n
        progress(min(done, len(samples)), len(samples))

    rec.on_batch = on_batch
    metrics, _ = evaluate_samples(rec, samples, out_dir=out)
    return metrics


def _eval_det(cfg: EvalJobConfig, out: Path, progress: Callable[[int, int], None]) -> dict[str, float]:
    from semiocr.core.data.detection import read_det_labels
    from semiocr.core.eval.det_report import evaluate_detection, evaluate_e2e
    from semiocr.core.inference.detector import TextDetector
    from semiocr.core.inference.pipeline import build_pipeline

    samples = read_det_labels(Path(cfg.data_dir), cfg.split or "det_val.txt")
    if cfg.rec:
        rep = evaluate_e2e(build_pipeline(cfg.weights, cfg.rec, device=cfg.device), samples, out_dir=out,
                           progress=progress)
    else:
        det = TextDetector.from_weights(cfg.weights, device=cfg.device)
        rep = evaluate_detection(lambda img: det(img).boxes, samples, out_dir=out, progress=progress)
    return {k: float(v) for k, v in rep["summary"].items() if isinstance(v, int | float)}
