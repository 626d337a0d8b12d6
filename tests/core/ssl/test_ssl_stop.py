"""A stop request ends an LMSSL job wherever it is (here: while the pool is pseudo-labelled) within seconds, as
``stopped``, and the same config run again resumes there without redoing finished stages."""

import json
import time
from pathlib import Path

import pytest
import torch

from semiocr.core.events import Event, StageChanged, Started, WorkProgress
from semiocr.core.ssl.config import LmsslConfig
from semiocr.core.ssl.recipe import run_lmssl


def _cfg(root: Path, out: Path) -> LmsslConfig:
    optim = {"epochs": 1, "learning_rate": 3e-3, "batch_size": 8, "warmup_steps": 0}
    return LmsslConfig.model_validate({
        "mode": "large", "output_dir": str(out), "device": "cpu",
        "data": {"root": str(root), "use_space": False, "eval_batch_size": 4},
        "teacher": {"model": {"arch": "ssl-test-large"}, "warmup": optim, "round_optim": optim, "rounds": 1,
                    "pseudo": {"threshold": None, "top_fraction_start": 0.5, "rotate_180": False},
                    "ema_decay": None},
    })


@pytest.mark.slow
def test_stop_while_pseudo_labelling_the_pool_ends_within_seconds_and_resumes(digit_dataset, tmp_path):
    torch.manual_seed(0)
    root, truth = digit_dataset
    out = tmp_path / "run"
    asked: dict[str, float] = {}
    events: list[Event] = []

    def sink(event: Event) -> None:
        events.append(event)
        if isinstance(event, WorkProgress) and event.what == "pseudo-label" and "at" not in asked:
            asked["at"] = time.perf_counter()  # the first batch of the pool is read: ask to stop now

    result = run_lmssl(_cfg(root, out), sink=sink, should_stop=lambda: "at" in asked)
    waited = time.perf_counter() - asked["at"]
    assert result.status == "stopped" and waited < 5.0, waited
    read = [e.done for e in events if isinstance(e, WorkProgress) and e.stage == "pseudo_round1"]
    assert read and max(read) < len(truth)  # stopped before the whole pool was read
    state = json.loads((out / "state.json").read_text())
    assert (state["stage"], state["status"]) == ("pseudo_round1", "stopped")
    assert (out / "large/warmup/done.json").is_file() and not (out / "pseudo/round1.tsv").exists()

    events.clear()
    again = run_lmssl(_cfg(root, out), sink=events.append)
    assert again.status == "succeeded" and again.summary is not None
    assert not [e for e in events if isinstance(e, Started) and e.stage == "large_warmup"]  # not redone
    stages = [e.stage for e in events if isinstance(e, StageChanged)]
    assert stages.index("pseudo_round1") < stages.index("large_round1")
    assert len((out / "pseudo/round1.tsv").read_text().splitlines()) == len(truth)
    assert json.loads((out / "state.json").read_text())["status"] == "succeeded"
