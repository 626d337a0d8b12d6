"""Event sinks for the training loop: a console progress bar (tqdm), a JSONL metrics file, fan-out."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from tqdm import tqdm

from semiocr.core.training.task import EventSink


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


class ConsoleSink:
    """Progress bar per epoch (updated at each ``progress`` event) and one line per metrics / log event."""

    def __init__(self, stream: TextIO | None = None, bar: bool = True):
        self.stream = stream or sys.stderr
        self.use_bar = bar
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

    def __call__(self, kind: str, payload: Mapping[str, Any]) -> None:
        if kind == "start":
            self._epochs = payload.get("epochs", 0)
            self._write(f"training → {payload.get('run_dir')} on {payload.get('device')} "
                        f"(world {payload.get('world_size')}), {payload.get('steps_per_epoch')} steps/epoch, "
                        f"from epoch {payload.get('start_epoch')} step {payload.get('start_step')}")
        elif kind == "progress":
            self._progress(payload)
        elif kind == "metrics":
            self._close_bar()
            keys = [k for k in payload if k not in ("epoch", "step")]
            self._write(f"eval epoch {payload['epoch']}: " + ", ".join(f"{k}={_fmt(payload[k])}" for k in keys))
        elif kind == "checkpoint":
            self._write(f"saved {payload.get('type')} checkpoint {payload.get('path')}")
        elif kind == "log":
            self._write(f"[{payload.get('level', 'info')}] {payload.get('message')}")
        elif kind == "end":
            self._close_bar()
            self._write(f"training {payload.get('reason')} at epoch {payload.get('epoch')} step "
                        f"{payload.get('step')}; best {_fmt(payload.get('best'))} (epoch {payload.get('best_epoch')})")

    def _progress(self, p: Mapping[str, Any]) -> None:
        if not self.use_bar:
            self._write(f"epoch {p['epoch'] + 1} step {p['epoch_step']}/{p['steps_per_epoch']} loss "
                        f"{_fmt(p['loss'])} lr {p['lr']:.3g}")
            return
        if self._bar is None or self._bar.desc != f"epoch {p['epoch'] + 1}/{self._epochs}":
            self._close_bar()
            self._bar = tqdm(total=p["steps_per_epoch"], desc=f"epoch {p['epoch'] + 1}/{self._epochs}",
                             file=self.stream, leave=False, dynamic_ncols=True)
        self._bar.n = p["epoch_step"]
        self._bar.set_postfix(loss=_fmt(p["loss"]), lr=f"{p['lr']:.2e}", refresh=False)
        self._bar.refresh()


class JsonlSink:
    """Appends every event as one JSON line ``{"time", "kind", ...payload}`` (flushed immediately)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def __call__(self, kind: str, payload: Mapping[str, Any]) -> None:
        record = {"time": round(time.time(), 3), "kind": kind, **payload}
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")


class MultiSink:
    """Forward each event to several sinks."""

    def __init__(self, *sinks: EventSink):
        self.sinks = list(sinks)

    def __call__(self, kind: str, payload: Mapping[str, Any]) -> None:
        for s in self.sinks:
            s(kind, payload)


def read_jsonl(path: str | Path, kind: str | None = None) -> list[dict[str, Any]]:
    """Events of a JSONL metrics file (optionally of one kind)."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    events = [json.loads(line) for line in lines if line.strip()]
    return [e for e in events if kind is None or e["kind"] == kind]


def default_sink(run_dir: str | Path, console: bool = True) -> MultiSink:
    """Console progress + ``<run_dir>/metrics.jsonl``."""
    sinks: list[EventSink] = [JsonlSink(Path(run_dir) / "metrics.jsonl")]
    if console:
        sinks.insert(0, ConsoleSink())
    return MultiSink(*sinks)
