"""The console view of a job's events: a tqdm bar per epoch and per pseudo-labelling pass, one line per metrics,
checkpoint, stage and log event. A sink like any other: core never draws progress itself."""

from __future__ import annotations

import sys
from typing import Any, TextIO

from tqdm import tqdm

from semiocr.core.events import (
    CheckpointSaved,
    Ended,
    Event,
    JobFinished,
    LogLine,
    Metrics,
    Progress,
    PseudoLabelStats,
    StageChanged,
    Started,
    WorkProgress,
)


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


class ConsoleSink:
    """Renders events on ``stream`` (stderr by default); progress is a bar on a terminal and plain lines
    elsewhere (a log file), unless ``bar`` says otherwise."""

    def __init__(self, stream: TextIO | None = None, bar: bool | None = None):
        self.stream = stream or sys.stderr
        self.use_bar = bar if bar is not None else bool(getattr(self.stream, "isatty", lambda: False)())
        self._bar: tqdm | None = None
        self._epochs = 0

    def _close_bar(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def _write(self, line: str) -> None:
        if self._bar is not None:
            self._bar.write(line, file=self.stream)
        else:
            print(line, file=self.stream, flush=True)

    def __call__(self, ev: Event) -> None:
        where = f"[{ev.stage}] " if ev.stage else ""
        if isinstance(ev, Started):
            self._epochs = ev.epochs
            self._write(f"{where}training → {ev.run_dir} on {ev.device} (world {ev.world_size}), "
                        f"{ev.steps_per_epoch} steps/epoch, from epoch {ev.start_epoch} step {ev.start_step}")
        elif isinstance(ev, Progress):
            self._bar_to(f"epoch {ev.epoch + 1}/{self._epochs}", ev.epoch_step, ev.steps_per_epoch,
                         f"epoch {ev.epoch + 1} step {ev.epoch_step}/{ev.steps_per_epoch}",
                         loss=_fmt(ev.loss), lr=f"{ev.lr:.2e}")
        elif isinstance(ev, WorkProgress):
            self._bar_to(ev.what, ev.done, ev.total, f"{ev.what} {ev.done}/{ev.total}")
            if ev.done >= ev.total:
                self._close_bar()
        elif isinstance(ev, Metrics):
            self._close_bar()
            self._write(f"{where}eval epoch {ev.epoch}: " + ", ".join(f"{k}={_fmt(v)}" for k, v in ev.values.items()))
        elif isinstance(ev, CheckpointSaved):
            self._write(f"{where}saved {ev.type} checkpoint {ev.path}")
        elif isinstance(ev, StageChanged):
            self._close_bar()
            self._write(f"stage {ev.stage} (round {ev.round})" + (f": {ev.message}" if ev.message else ""))
        elif isinstance(ev, PseudoLabelStats):
            self._write(f"{where}kept {ev.kept} of {ev.pool} pseudo-labels (threshold {ev.threshold}, top fraction "
                        f"{ev.top_fraction}, read upside down too: {ev.rotate_180})")
        elif isinstance(ev, LogLine):
            self._write(f"{where}[{ev.level}] {ev.message}")
        elif isinstance(ev, Ended):
            self._close_bar()
            self._write(f"{where}training {ev.reason} at epoch {ev.epoch} step {ev.step}; best {_fmt(ev.best)} "
                        f"(epoch {ev.best_epoch})")
        elif isinstance(ev, JobFinished):
            self._close_bar()
            self._write(f"job {ev.status}: outputs in {ev.output_dir}")

    def _bar_to(self, desc: str, n: int, total: int, plain: str, **postfix: str) -> None:
        if not self.use_bar:
            self._write(plain + "".join(f" {k} {v}" for k, v in postfix.items()))
            return
        if self._bar is None or self._bar.desc != desc:
            self._close_bar()
            self._bar = tqdm(total=total, desc=desc, file=self.stream, leave=False, dynamic_ncols=True)
        self._bar.n = n
        if postfix:
            self._bar.set_postfix(refresh=False, **postfix)
        self._bar.refresh()


class ProgressBar:
    """A ``progress(done, total)`` callback drawing one tqdm bar on stderr (for core functions that report
    progress through a callback, e.g. detection evaluation and dataset checks)."""

    def __init__(self, desc: str, unit: str = "img"):
        self.desc, self.unit = desc, unit
        self._bar: tqdm | None = None

    def __call__(self, done: int, total: int) -> None:
        if self._bar is None:
            self._bar = tqdm(total=total, desc=self.desc, unit=self.unit, leave=False, disable=None)
        self._bar.n = done
        self._bar.refresh()
        if done >= total:
            self._bar.close()
