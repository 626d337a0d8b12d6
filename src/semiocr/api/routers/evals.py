"""``/v1/evals``: evaluation tasks (``eval`` runs)."""

from __future__ import annotations

from fastapi import APIRouter

from semiocr.api.deps import DB, Manager
from semiocr.api.schemas import EvalCreate, RunOut
from semiocr.platform import runs as rs

router = APIRouter(prefix="/v1/evals", tags=["evaluation tasks"])


@router.post("", status_code=201)
def create(body: EvalCreate, s: DB, user: Manager) -> RunOut:
    run = rs.create_run(s, user, {"kind": "eval", **body.model_dump()}, name=f"eval {body.weights}")
    return RunOut(**rs.describe(run))


@router.get("")
def list_evals(s: DB, user: Manager) -> list[RunOut]:
    return [RunOut(**rs.describe(r)) for r in rs.list_runs(s, user) if r.kind == "eval"]


@router.get("/{run_id}")
def show(run_id: int, s: DB, user: Manager) -> RunOut:
    run = rs.get_run(s, user, run_id)
    if run.kind != "eval":
        raise rs.RunNotFound(f"evaluation task {run_id} not found")
    return RunOut(**rs.describe(run))
