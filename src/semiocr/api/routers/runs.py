"""``/v1/runs``: create, list, show, submit, cancel, stop, resume, checkpoints, and the live log (server-sent
events that resume from an offset)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query
from fastapi.responses import StreamingResponse

from semiocr.api.deps import DB, Manager
from semiocr.api.schemas import CheckpointOut, RunCreate, RunOut
from semiocr.platform import runs as rs
from semiocr.platform import states as st
from semiocr.platform.db import session
from semiocr.platform.tables import Run

router = APIRouter(prefix="/v1/runs", tags=["runs"])


@router.post("", status_code=201)
def create(body: RunCreate, s: DB, user: Manager) -> RunOut:
    run = rs.create_run(s, user, body.config, name=body.name, gpus=body.gpus, executor=body.executor,
                        submit=not body.draft)
    return RunOut(**rs.describe(run))


@router.get("")
def list_runs(s: DB, user: Manager, state: str | None = None) -> list[RunOut]:
    return [RunOut(**rs.describe(r)) for r in rs.list_runs(s, user, state)]


@router.get("/{run_id}")
def show(run_id: int, s: DB, user: Manager) -> RunOut:
    return RunOut(**rs.describe(rs.get_run(s, user, run_id)))


@router.post("/{run_id}/{action}")
def act(run_id: int, action: str, s: DB, user: Manager) -> RunOut:
    """``submit`` (draft → queued), ``cancel`` (queued → draft), ``stop`` (running → stopped after a checkpoint),
    ``resume`` (stopped | failed → queued)."""
    fn = {"submit": rs.submit, "cancel": rs.cancel, "stop": rs.request_stop, "resume": rs.resume}.get(action)
    if fn is None:
        raise LookupError(f"unknown action {action!r}: submit | cancel | stop | resume")
    return RunOut(**rs.describe(fn(s, user, run_id)))


@router.get("/{run_id}/checkpoints")
def checkpoints(run_id: int, s: DB, user: Manager) -> list[CheckpointOut]:
    return [CheckpointOut.model_validate(c) for c in rs.checkpoints(s, user, run_id)]


@router.get("/{run_id}/logs")
def logs(run_id: int, s: DB, user: Manager, offset: Annotated[int, Query(ge=0)] = 0,
         follow: bool = True, last_event_id: Annotated[str | None, Header()] = None) -> StreamingResponse:
    """The attempt's console log as server-sent events: each event is one line, its ``id`` the byte offset after
    it; a client reconnects with ``Last-Event-ID`` (or ``?offset=``) and misses nothing. Without ``follow`` the
    stream ends at the end of the file; with it, when the run has ended."""
    run = rs.get_run(s, user, run_id)
    path = rs.log_path(run)
    start = int(last_event_id) if last_event_id and last_event_id.isdigit() else offset

    async def stream() -> AsyncIterator[str]:
        pos = start
        while True:
            if path.is_file():
                with path.open("rb") as f:
                    f.seek(pos)
                    data = f.read()
                end = data.rfind(b"\n") + 1
                for line in data[:end].splitlines(keepends=True):
                    pos += len(line)
                    yield f"id: {pos}\ndata: {line.decode('utf-8', 'replace').rstrip()}\n\n"
            drained = not path.is_file() or path.stat().st_size <= pos
            if not follow or (drained and _finished(run_id)):
                yield "event: end\ndata: \n\n"
                return
            await asyncio.sleep(0.5)

    return StreamingResponse(stream(), media_type="text/event-stream")


def _finished(run_id: int) -> bool:
    with session() as s:
        return s.get(Run, run_id).state in (*st.FINISHED, st.DRAFT)
