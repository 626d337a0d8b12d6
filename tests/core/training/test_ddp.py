"""``torchrun --nproc_per_node 2`` on CPU (gloo) runs the same training code path, and its ranks exit cleanly."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from semiocr.core.config import dump_config
from semiocr.core.events import read_jsonl
from semiocr.core.weights.checkpoint import read_checkpoint
from semiocr.core.weights.resolve import resume_checkpoint


def _rank_env() -> dict[str, str]:
    return dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join(
        [str(Path(__file__).parents[3] / "src"), os.environ.get("PYTHONPATH", "")]))


@pytest.mark.slow
def test_torchrun_two_gloo_processes(small_digits, tmp_path, tiny_config):
    cfg = tiny_config(small_digits, tmp_path / "ddp", epochs=2, batch_size=8)
    dump_config(cfg, tmp_path / "cfg.yaml")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m",
           "semiocr.cli.main", "train", "rec", "--quiet", "-c", str(tmp_path / "cfg.yaml")]
    proc = subprocess.run(cmd, env=_rank_env(), capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:  # say how far the run got: a crash after its "end" event is one at teardown
        metrics = tmp_path / "ddp" / "metrics.jsonl"
        last = metrics.read_text().splitlines()[-1][:300] if metrics.is_file() else "no metrics.jsonl"
        pytest.fail(f"exit {proc.returncode}; last event: {last}\nstdout: {proc.stdout[-1500:]}\n"
                    f"stderr: {proc.stderr[-3000:]}")
    events = read_jsonl(tmp_path / "ddp" / "metrics.jsonl")
    start = [e for e in events if e["kind"] == "start"]
    assert len(start) == 1 and start[0]["world_size"] == 2  # only rank 0 reports
    assert start[0]["steps_per_epoch"] == 3  # 48 lines split over 2 ranks = 24 per rank / batch 8
    assert [e["epoch"] for e in events if e["kind"] == "metrics"] == [1, 2]
    logs = [e["message"] for e in events if e["kind"] == "log"]
    assert any("weights in sync across 2 ranks" in m for m in logs), logs
    assert read_checkpoint(resume_checkpoint(tmp_path / "ddp"))["meta"].step == 6


RANK_SCRIPT = """
import sys
import torch
import torch.distributed as dist
from semiocr.core.training.ddp import run_and_exit

def job():
    if sys.argv[1] == "collectives":  # temporaries: gloo's threads hold the last reference a moment longer
        dist.init_process_group("gloo")
        for _ in range(3):
            dist.all_reduce(torch.ones(1000))
    elif sys.argv[1] == "exit":
        sys.exit(3)
    else:
        raise ValueError("the job failed")

run_and_exit(job)
"""


@pytest.mark.slow
def test_ranks_that_end_right_after_a_collective_exit_cleanly(tmp_path):
    # without run_and_exit, at least one rank of four aborts at interpreter exit in about two launches of three
    # ("terminate called without an active exception", SIGABRT; 4 of 6 measured) and torchrun fails the run
    script = tmp_path / "rank.py"
    script.write_text(RANK_SCRIPT)
    for _ in range(3):
        proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "4",
                               str(script), "collectives"], env=_rank_env(), capture_output=True, text=True,
                              timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert "terminate called" not in proc.stdout + proc.stderr


def test_run_and_exit_keeps_the_exit_code_and_reports_an_uncaught_exception(tmp_path):
    script = tmp_path / "rank.py"
    script.write_text(RANK_SCRIPT)
    run = lambda arg: subprocess.run([sys.executable, str(script), arg], env=_rank_env(),  # noqa: E731
                                     capture_output=True, text=True, timeout=120)
    assert run("exit").returncode == 3
    failed = run("raise")
    assert failed.returncode == 1
    assert "Traceback" in failed.stderr and "ValueError: the job failed" in failed.stderr
