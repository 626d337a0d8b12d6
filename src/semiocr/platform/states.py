"""Run states and the only place their transitions are decided (DESIGN.md §6).

``draft → queued → running → succeeded | stopped | failed``; cancel: ``queued → draft``; resume: ``stopped |
failed → queued`` (a new attempt that continues from the last checkpoint). Anything else is an error.
"""

from __future__ import annotations

DRAFT, QUEUED, RUNNING, SUCCEEDED, STOPPED, FAILED = "draft", "queued", "running", "succeeded", "stopped", "failed"
STATES = (DRAFT, QUEUED, RUNNING, SUCCEEDED, STOPPED, FAILED)
FINISHED = (SUCCEEDED, STOPPED, FAILED)

#: (from, to) → the action that makes it
TRANSITIONS: dict[tuple[str, str], str] = {
    (DRAFT, QUEUED): "submit",
    (QUEUED, DRAFT): "cancel",
    (QUEUED, RUNNING): "start",
    (RUNNING, SUCCEEDED): "succeed",
    (RUNNING, STOPPED): "stop",
    (RUNNING, FAILED): "fail",
    (QUEUED, FAILED): "fail",  # e.g. the executor refused the submission
    (STOPPED, QUEUED): "resume",
    (FAILED, QUEUED): "resume",
}


class IllegalTransition(ValueError):
    """A run was asked to move between states that the lifecycle does not connect."""


def check_transition(current: str, target: str, run_id: int | None = None) -> str:
    """The action name of ``current → target``; ``IllegalTransition`` naming both states otherwise."""
    action = TRANSITIONS.get((current, target))
    if action is None:
        allowed = sorted(t for (f, t) in TRANSITIONS if f == current)
        who = f"run {run_id}" if run_id is not None else "run"
        raise IllegalTransition(f"{who} is {current}: cannot become {target} (allowed: {', '.join(allowed) or 'none'})")
    return action
