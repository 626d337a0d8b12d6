"""``torchrun --nproc_per_node 2`` on CPU (gloo) runs the same training code path."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from semiocr.core.config import dump_config
from semiocr.core.events import read_jsonl
from semiocr.core.weights.checkpoint import read_checkpoint
from semiocr.core.weights.resolve import resume_checkpoint


@pytest.mark.slow
def test_torchrun_two_gloo_processes(small_digits, tmp_path, tiny_config):
    cfg = tiny_config(small_digits, tmp_path / "ddp", epochs=2, batch_size=8)
    dump_config(cfg, tmp_path / "cfg.yaml")
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join(
        [str(Path(__file__).parents[3] / "src"), os.environ.get("PYTHONPATH", "")]))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m",
           "semiocr.cli.main", "train", "rec", "--quiet", "-c", str(tmp_path / "cfg.yaml")]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
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
