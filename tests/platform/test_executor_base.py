"""How an attempt's exit code and log become a run's outcome, for jobs that torchrun ran: the failing rank's own
words and torchrun's verdict, from the log of a real ``torch.distributed.run`` with two gloo ranks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from semiocr.platform.executors.base import outcome_of_exit

RANK_SCRIPT = """
import os, sys, time
import torch.distributed as dist
dist.init_process_group("gloo")
dist.barrier()
if dist.get_rank() == 1:
    {failure}
time.sleep(5)
"""

FAILURES = {  # what rank 1 does → what the reason must say
    "python": ('raise ValueError("label length 31 > max_text_length 25")',
               ["ValueError: label length 31 > max_text_length 25", "rank 1 exit code 1"]),
    "abort": ('print("terminate called after throwing an instance of \'gloo::IoException\'", file=sys.stderr, '
              'flush=True); os.abort()',
              ["terminate called after throwing an instance of 'gloo::IoException'", "rank 1 exit code -6 (SIGABRT)"]),
}


@pytest.mark.slow
@pytest.mark.parametrize("failure", sorted(FAILURES))
def test_a_torchrun_failure_names_the_failing_rank_and_its_own_last_words(tmp_path: Path, failure: str) -> None:
    statement, expected = FAILURES[failure]
    script = tmp_path / "job.py"
    script.write_text(RANK_SCRIPT.format(failure=statement))
    log = tmp_path / "attempt-1.log"
    with log.open("w") as out:
        code = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                               str(script)], stdout=out, stderr=subprocess.STDOUT, timeout=120).returncode
    outcome = outcome_of_exit(code, log)
    assert outcome.status == "failed" and outcome.reason.startswith(f"exit code {code}: ")
    for part in expected:
        assert part in outcome.reason, outcome.reason
    assert "ChildFailedError" not in outcome.reason and "Traceback" not in outcome.reason


def test_a_single_process_failure_keeps_the_log_tail(tmp_path: Path) -> None:
    log = tmp_path / "attempt-1.log"
    log.write_text("epoch 1 step 2/2 loss 9.1\nTraceback (most recent call last):\n  File \"x.py\", line 1\n"
                   "ZeroDivisionError: division by zero\n")
    outcome = outcome_of_exit(1, log)
    assert outcome.reason == ("exit code 1: epoch 1 step 2/2 loss 9.1 | Traceback (most recent call last): | "
                              "File \"x.py\", line 1 | ZeroDivisionError: division by zero")
    assert outcome_of_exit(-9, log).reason.startswith("killed by signal 9: ")
    assert outcome_of_exit(3, log).status == "stopped" and outcome_of_exit(0, log).status == "succeeded"
