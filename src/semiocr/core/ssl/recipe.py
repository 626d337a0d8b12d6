"""The LMSSL recipe: large semi-supervised model → pseudo-labels → distilled small model (DESIGN.md §5).

Modes: ``joint`` (large then small), ``large`` (large only), ``small`` (small from marked large weights).
Each stage is one run of the training loop in its own sub-directory of ``output_dir``::

    large/warmup, large/round1..K, small/warmup, small/distill   (each: checkpoints/{best,latest}.pt,
                                                                  metrics, start.json, done.json)
    pseudo/round{k}.{tsv,labels.txt,json}, pseudo/final.*        (pseudo-labels, first-class outputs)
    large_best.pt, small_best.pt, pseudo_labels.tsv, summary.json, summary.md, state.json, events.jsonl

``state.json`` records the current stage and round; an interrupted run started again with the same output
directory skips finished stages and resumes the unfinished one from its ``checkpoints/latest.pt``.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from semiocr.core.config import dump_config
from semiocr.core.data.hashing import dataset_hash
from semiocr.core.events import (
    CheckpointSaved,
    Event,
    EventSink,
    JobFinished,
    JsonlSink,
    LogLine,
    MultiSink,
    PseudoLabelStats,
    StageChanged,
    StopRequested,
    in_stage,
    never,
)
from semiocr.core.inference.device import resolve_device
from semiocr.core.job import JobResult
from semiocr.core.models.registry import build_model
from semiocr.core.ssl import pseudo_label as pl
from semiocr.core.ssl.common import TaskData, selection_score
from semiocr.core.ssl.config import LmsslConfig, ModelCfg, OptimCfg, PseudoCfg
from semiocr.core.ssl.inputs import RunInputs, check_inputs
from semiocr.core.ssl.stage import StageResult, copy_stage, run_stage, train_config
from semiocr.core.ssl.student import StudentTask
from semiocr.core.ssl.summary import write_summary
from semiocr.core.ssl.synth_start import synth_samples
from semiocr.core.ssl.teacher import TeacherTask
from semiocr.core.training.loop import seed_everything
from semiocr.core.weights.load import load_recognizer_model, load_start_weights, load_teacher_model


class Recipe:
    """One LMSSL run; ``run()`` executes the stages of ``cfg.mode`` and returns the summary."""

    def __init__(self, cfg: LmsslConfig, sink: EventSink | None = None, should_stop: Callable[[], bool] | None = None):
        self.inputs: RunInputs = check_inputs(cfg)  # all bad input fails here, before training
        self.cfg, self.out, self.should_stop = cfg, Path(cfg.output_dir), should_stop or never
        self.out.mkdir(parents=True, exist_ok=True)
        self.sink = MultiSink(JsonlSink(self.out / "events.jsonl"), sink)
        self.state_path = self.out / "state.json"
        self.state: dict[str, Any] = self._load_state()
        self._clock: tuple[str, float] | None = None  # the stage being timed and since when (monotonic seconds)
        self.device = resolve_device(cfg.device)
        self.data_hash = dataset_hash(self.inputs.root)
        dump_config(cfg, self.out / "config.yaml")

    # -- state ----------------------------------------------------------------------------------------
    def _load_state(self) -> dict[str, Any]:
        if self.state_path.is_file():
            st = json.loads(self.state_path.read_text())
            if st.get("mode") != self.cfg.mode:
                raise ValueError(f"{self.state_path}: this output directory holds a {st.get('mode')!r} run, "
                                 f"not {self.cfg.mode!r}; use another output_dir")
            return st
        return {"mode": self.cfg.mode, "stage": None, "round": 0, "status": "running", "results": {}}

    def _enter(self, stage: str, round_index: int = 0) -> None:
        self.state.update(stage=stage, round=round_index)
        self._save_state()
        self._clock = (stage, time.monotonic())
        self.sink(StageChanged(stage=stage, round=round_index))

    def _save_state(self) -> None:
        if self._clock is not None:  # wall time per stage, summed over resumed attempts
            stage, since = self._clock
            now = time.monotonic()
            seconds = self.state.setdefault("stage_seconds", {})
            seconds[stage] = seconds.get(stage, 0.0) + now - since
            self._clock = (stage, now)
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state, indent=2))
        tmp.replace(self.state_path)

    def _on_event(self, event: Event) -> None:
        """Save the state (and with it the stage's time so far) whenever a stage saves the checkpoint it resumes
        from, so that a run killed mid-stage keeps its time up to there."""
        if isinstance(event, CheckpointSaved) and event.type == "latest":
            self._save_state()

    def info(self, message: str) -> None:
        self.sink(LogLine(message=message, stage=self.state.get("stage"), round=self.state.get("round")))

    def _record(self, model: str, key: str, metrics: Mapping[str, float]) -> None:
        self.state["results"].setdefault(model, {})[key] = dict(metrics)
        self._save_state()

    # -- building blocks ------------------------------------------------------------------------------
    def _data(self, batch_size: int, labelled_aug: str, pseudo_aug: str) -> TaskData:
        inp = self.inputs
        return TaskData.for_run(self.cfg, inp.charset, inp.labelled, inp.val, batch_size, labelled_aug, pseudo_aug,
                                self.data_hash)

    def _model(self, m: ModelCfg, weights: str | Path | None = None) -> nn.Module:
        """Build ``m`` and load ``weights`` (start weights or a previous stage's best) when given."""
        model = build_model(m.arch, num_classes=self.inputs.charset.num_classes, **m.kwargs)
        if weights is not None:
            self.info(load_start_weights(model, weights, self.inputs.charset))
        return model

    def _start(self, m: ModelCfg, role: str) -> str | Path | None:
        """Start weights of a model: ``pretrained`` (file or preset), else synthetic pre-training, else none."""
        if m.pretrained is not None:
            return m.pretrained  # any weights name (file, run directory, preset, marked nickname)
        if m.synth_pretrain is None:
            return None
        inp, sp = self.inputs, m.synth_pretrain
        train, val = synth_samples(self.out / "synth" / "data", inp.charset, inp.labelled, sp, self.cfg.seed,
                                   self.should_stop)
        data = TaskData.for_run(self.cfg, inp.charset, train, val, sp.optim.batch_size, "weak", "weak",
                                self.data_hash)
        task = TeacherTask(self._model(m), data, ema_decay=None, seed=self.cfg.seed, parent="synthetic")
        res = self._stage(task, f"{role}/synth", sp.optim, m)
        self._record(role, "synthetic", res.best)
        return res.best_path

    def _stage(self, task: Any, rel: str, optim: OptimCfg, m: ModelCfg,
               start_metrics: Mapping[str, float] | None = None, note: bool = True) -> StageResult:
        name, k = rel.replace("/", "_"), int(getattr(task, "round_index", 0))
        self._enter(name, k)
        tcfg = train_config(optim, task, self.out / rel, device=self.cfg.device, seed=self.cfg.seed,
                            model_kwargs=m.kwargs, **self.cfg.step_settings())

        res = run_stage(task, self.out / rel, tcfg, sink=MultiSink(in_stage(self.sink, name, k), self._on_event),
                        should_stop=self.should_stop, start_metrics=start_metrics)
        if note:
            self._note_failure(name, res)
        return res

    def _warmup(self, role: str, m: ModelCfg, settings: list[OptimCfg],
                task_for: Callable[[nn.Module, int], Any]) -> StageResult:
        """The supervised warm-up of ``role`` ("large" / "small"): one stage per setting (``role/warmup``, then
        ``role/warmup_try{i}``), all from the same start weights; the best on val is the warm-up. ``task_for``
        builds a stage's task from a model and a batch size."""
        start, key = self._start(m, role), self.cfg.selection_metric
        runs: dict[str, StageResult] = {}
        for i, optim in enumerate(settings):
            rel = f"{role}/warmup" + (f"_try{i}" if i else "")
            first = runs.get(f"{role}/warmup")  # its start metrics are every try's: measured once
            runs[rel] = self._stage(task_for(self._model(m, start), optim.batch_size), rel, optim, m,
                                    start_metrics=first.start if first else None, note=False)
        chosen = max(runs, key=lambda rel: selection_score(runs[rel].best, key))  # the first wins ties
        res = runs[chosen]
        self.state.setdefault("warmup_stages", {})[role] = chosen
        if len(runs) > 1:
            self.state["results"].setdefault(role, {})["warmup_tries"] = {
                rel.split("/")[1]: dict(r.best) for rel, r in runs.items()}
            self.info(f"{role} warm-up: {chosen} is best on val ({key} "
                      f"{100 * res.best.get(key, 0):.2f}) of {len(runs)} tries")
        self._note_failure(f"{role}_warmup", res if res.improved(key) else _best_trained(runs.values(), key),
                           tries=len(runs))
        return res

    def _note_failure(self, stage: str, res: StageResult, tries: int = 1) -> None:
        """Say when training did not beat the weights a stage started from (the stage then hands those on)."""
        key = self.cfg.selection_metric
        if res.improved(key):
            return
        t = res.trained
        during = (f"best during training {100 * t[key]:.2f} at epoch {t.get('epoch')}" if t
                  else "no epoch was evaluated")
        if tries > 1:
            during += f", in the best of {tries} tries"
        message = (f"{stage} did not beat its start weights (val {key} {100 * res.start.get(key, 0):.2f} at the start; "
                   f"{during}); the start weights are kept")
        self.state.setdefault("failures", {})[stage] = message
        self._save_state()
        self.sink(LogLine(message=message, level="warning", stage=stage))

    def _pseudo(self, model: nn.Module, stem: str, pcfg: PseudoCfg, round_index: int, source: str
                ) -> list[pl.PseudoLabel]:
        """Pseudo-label the pool (or reuse this round's file on resume) and keep the confident ones."""
        path = self.out / "pseudo" / stem
        frac = pcfg.top_fraction(max(round_index, 1))
        meta_path = path.with_suffix(".json")
        if meta_path.is_file():
            labels = pl.read_pseudo_labels(path.with_suffix(".tsv"), self.inputs.root)
            orientation = {k: v for k, v in json.loads(meta_path.read_text()).items() if k.startswith("rotate_180")}
        else:
            orientation = self._orientation(model, pcfg.rotate_180)
            labels = pl.predict(self._placed(model), [s.path for s in self.inputs.unlabelled],
                                self.inputs.charset, self.cfg.data.eval_batch_size, self.device,
                                self.cfg.data.max_width, rotate_180=orientation["rotate_180"],
                                sink=in_stage(self.sink, f"pseudo_{stem}", round_index), should_stop=self.should_stop)
        kept = pl.select(labels, pcfg.threshold, frac, pcfg.min_length, pcfg.rare_char_share)
        meta = {"round": round_index, "threshold": pcfg.threshold, "top_fraction": frac,
                "rare_char_share": pcfg.rare_char_share, "model": source,
                **orientation}
        pl.write_pseudo_labels(path, labels, kept, self.inputs.root, meta)
        if stem == "final":
            self._note_unwritten(kept)
        self.sink(PseudoLabelStats(stage=f"pseudo_{stem}", round=round_index, name=stem, kept=len(kept),
                                   pool=len(labels), threshold=pcfg.threshold, top_fraction=frac,
                                   rotate_180=bool(orientation["rotate_180"])))
        return kept

    def _note_unwritten(self, kept: list[pl.PseudoLabel]) -> None:
        """Warn when characters of the labelled lines appear in none of the kept final pseudo-labels: the small
        model is then taught them by the labelled lines alone (e.g. characters the start weights lacked, when no
        stage beat those weights)."""
        written = {c for p in kept for c in p.text}
        counts: dict[str, int] = {}
        for sample in self.inputs.labelled:
            for c in sample.text or "":
                counts[c] = counts.get(c, 0) + (c not in written)
        missing = sorted((c for c, n in counts.items() if n), key=lambda c: -counts[c])
        if not missing:
            return
        shown = " ".join(f"{c!r} ({counts[c]}×)" for c in missing[:15]) + (" …" if len(missing) > 15 else "")
        message = (f"{len(missing)} characters of the labelled lines appear in none of the {len(kept)} kept final "
                   f"pseudo-labels: {shown}")
        self.state.setdefault("warnings", {})["unwritten_characters"] = message
        self._save_state()
        self.sink(LogLine(message=message, level="warning", stage="pseudo_final"))

    def _placed(self, model: nn.Module) -> nn.Module:
        """``model`` on the run's device, in the memory order its stages train in (``channels_last``)."""
        fmt = torch.channels_last if self.cfg.channels_last else torch.contiguous_format
        return model.to(self.device, memory_format=fmt)

    def _orientation(self, model: nn.Module, setting: bool | str) -> dict[str, Any]:
        """Whether pseudo-labelling reads lines turned by 180° too: as configured, or (``"auto"``) as measured
        on ``val.txt`` (``pseudo_label.rotation_helps``)."""
        if setting != "auto":
            return {"rotate_180": bool(setting)}
        d = self.cfg.data
        helps, accs = pl.rotation_helps(self._placed(model), self.inputs.val, self.inputs.charset,
                                        d.eval_batch_size, self.device, d.max_width, self.should_stop)
        self.info(f"val exact match upright {accs['upright']:.4f}, with 180° readings {accs['both']:.4f}: "
                  f"pseudo-labels {'with' if helps else 'without'} them")
        return {"rotate_180": helps, "rotate_180_setting": "auto", "rotate_180_val_acc_upright": accs["upright"],
                "rotate_180_val_acc_both": accs["both"]}

    # -- the large model ------------------------------------------------------------------------------
    def _teacher_task(self, model: nn.Module, pseudo: list[pl.PseudoLabel], k: int, batch_size: int,
                      parent: str | None = None) -> TeacherTask:
        t = self.cfg.teacher
        return TeacherTask(model, self._data(batch_size, t.labelled_aug, t.pseudo_aug), pseudo, round_index=k,
                           labelled_share=t.labelled_share, pseudo_weight=t.pseudo.weight, ema_decay=t.ema_decay,
                           ema_warmup_steps=t.ema_warmup_steps if k == 0 else 0,  # rounds start from good weights
                           unlabelled=[s.path for s in self.inputs.unlabelled],
                           consistency_weight=t.consistency_weight if k > 0 else 0.0,
                           consistency_threshold=t.consistency_threshold, consistency_batch=t.consistency_batch,
                           seed=self.cfg.seed + k, parent=parent)

    def large_warmup(self) -> StageResult:
        """The large model's supervised warm-up (labelled lines only, from its start weights; the best of
        ``teacher.warmup_tries`` when there are several)."""
        t = self.cfg.teacher
        return self._warmup("large", t.model, t.warmup_settings(),
                            lambda model, batch: self._teacher_task(model, [], 0, batch))

    def run_large(self) -> Path:
        """Warm-up, then K rounds of pseudo-label → train; returns the best large weights."""
        t = self.cfg.teacher
        res = self.large_warmup()
        self._record("large", "start", res.start)
        self._record("large", "warmup", res.best)
        best, best_metrics = res.best_path, res.best
        for k in range(1, t.rounds + 1):
            model = self._model(t.model, best)
            self._enter(f"pseudo_round{k}", k)
            pseudo = self._pseudo(model, f"round{k}", t.pseudo, k, str(best))
            res = self._stage(self._teacher_task(model, pseudo, k, t.round_optim.batch_size, str(best)),
                              f"large/round{k}", t.round_optim, t.model, start_metrics=best_metrics)
            self._record("large", f"round{k}", res.best)
            key = self.cfg.selection_metric
            if selection_score(res.best, key) >= selection_score(best_metrics, key):
                best, best_metrics = res.best_path, res.best
        shutil.copyfile(best, self.out / "large_best.pt")
        trained = {k: v for k, v in self.state["results"]["large"].items() if k == "warmup" or k.startswith("round")}
        self._record("large", "final", _best_of(trained, self.cfg.selection_metric))
        return self.out / "large_best.pt"

    # -- the small model ------------------------------------------------------------------------------
    def _student_task(self, model: nn.Module, pseudo: list[pl.PseudoLabel], teacher: nn.Module | None,
                      batch_size: int | None = None, parent: str | None = None) -> StudentTask:
        s = self.cfg.student
        return StudentTask(model, self._data(batch_size or s.optim.batch_size, s.labelled_aug, s.pseudo_aug), pseudo,
                           teacher=teacher, kd_weight=s.kd_weight, kd_temperature=s.kd_temperature,
                           kd_only_agreeing=s.kd_only_agreeing, labelled_share=s.labelled_share,
                           pseudo_weight=s.pseudo.weight, ema_decay=s.ema_decay,
                           ema_warmup_steps=s.ema_warmup_steps, seed=self.cfg.seed + 100, parent=parent)

    def run_small(self, teacher_path: str | Path) -> Path:
        """Final pseudo-labels from the teacher, optional supervised warm-up, then distillation."""
        s = self.cfg.student
        teacher, message = load_teacher_model(teacher_path, self.inputs.charset)
        self.info(message)
        self._enter("pseudo_final")
        pseudo = self._pseudo(teacher, "final", s.pseudo, 0, str(teacher_path))
        shutil.copyfile(self.out / "pseudo" / "final.tsv", self.out / "pseudo_labels.tsv")
        start: Path | None = None
        known: dict[str, float] | None = None  # metrics of ``start`` when a stage here measured them
        if s.warmup_supervised and s.warmup_from_large:
            res = copy_stage(self.out / self.state["warmup_stages"]["large"], self.out / "small" / "warmup")
            self.state["warmup_stages"]["small"] = "small/warmup"
            self.info("small supervised-only stage = the large warm-up (same model)")
            self._record("small", "start", res.start)
            self._record("small", "warmup", res.best)
            start, known = res.best_path, res.best
        elif s.warmup_supervised:
            res = self._warmup("small", s.model, s.warmup_settings(),
                               lambda model, batch: self._student_task(model, [], None, batch))
            self._record("small", "start", res.start)
            self._record("small", "warmup", res.best)
            start, known = res.best_path, res.best
        if start is None:
            start = self._start(s.model, "small")
        res = self._stage(self._student_task(self._model(s.model, start), pseudo, teacher, None,
                                             str(teacher_path)), "small/distill", s.optim, s.model, start_metrics=known)
        if not s.warmup_supervised:
            self._record("small", "start", res.start)
        self._record("small", "distill", res.best)
        final = _best_of({k: v for k, v in self.state["results"]["small"].items() if k in ("warmup", "distill")},
                         self.cfg.selection_metric)
        self._record("small", "final", final)
        chosen = res.best_path if final == res.best else warmup_weights(self.out, "small")
        shutil.copyfile(chosen, self.out / "small_best.pt")
        return self.out / "small_best.pt"

    # -- the whole run --------------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        """Run the stages of the configured mode; returns the summary (also in summary.json / summary.md)."""
        mode = self.cfg.mode
        seed_everything(self.cfg.seed)
        if mode in ("joint", "large"):
            teacher = self.run_large()
            if mode == "large":
                self._enter("pseudo_final")
                model = load_recognizer_model(teacher, self.inputs.charset)[0]
                self._pseudo(model, "final", self.cfg.student.pseudo, 0, str(teacher))
                shutil.copyfile(self.out / "pseudo" / "final.tsv", self.out / "pseudo_labels.tsv")
        else:
            teacher = self.cfg.student.teacher_weights
        if mode in ("joint", "small"):
            self.run_small(teacher)
        self.state.update(stage="done", status="succeeded")
        self._save_state()
        return write_summary(self.out, self.state["results"], mode, self.state.get("failures", {}),
                             self.state.get("warnings", {}), self.state.get("stage_seconds", {}))


def warmup_weights(out_dir: str | Path, role: str) -> Path:
    """The best weights of the supervised warm-up of ``role`` ("large" / "small") in a run directory: those of
    the try that won (``state.json``)."""
    out_dir = Path(out_dir)
    state = json.loads((out_dir / "state.json").read_text())
    return out_dir / state.get("warmup_stages", {}).get(role, f"{role}/warmup") / "checkpoints" / "best.pt"


def _best_trained(runs: Iterable[StageResult], key: str) -> StageResult:
    """The run whose training reached the best val ``key`` (the first when none was evaluated)."""
    return max(runs, key=lambda r: selection_score(r.trained, key))


def _best_of(results: Mapping[str, Mapping[str, float]], key: str = "acc") -> dict[str, float]:
    """The stage metrics with the best ``_score`` (later stages win ties)."""
    best: dict[str, float] = {}
    for m in results.values():
        if not best or selection_score(m, key) >= selection_score(best, key):
            best = dict(m)
    return best


def run_lmssl(cfg: LmsslConfig, sink: EventSink | None = None,
              should_stop: Callable[[], bool] | None = None) -> JobResult:
    """The ``lmssl`` job: validate the inputs, then run (or resume) the recipe of ``cfg.mode``. A stop request
    (anywhere: training, pseudo-labelling, evaluation, synthetic rendering) ends it ``stopped``; the same
    config run again resumes in the stage and round where it stopped."""
    recipe = Recipe(cfg, sink, should_stop)
    metric = cfg.selection_metric
    try:
        summary = recipe.run()
    except StopRequested:
        recipe.state["status"] = "stopped"
        recipe._save_state()
        recipe.sink(JobFinished(status="stopped", output_dir=str(recipe.out)))
        where = f"stage {recipe.state.get('stage')} (round {recipe.state.get('round')})"
        return JobResult(kind="lmssl", status="stopped", output_dir=recipe.out, metric=metric, best=None,
                         message=f"stopped in {where}; run the same config again to resume")
    recipe.sink(JobFinished(status="succeeded", output_dir=str(recipe.out), summary=summary))
    final = summary.get("small" if cfg.mode != "large" else "large", {}).get("final") or {}
    return JobResult(kind="lmssl", status="succeeded", output_dir=recipe.out, metric=metric,
                     best=final.get(metric), metrics=dict(final), summary=summary)
