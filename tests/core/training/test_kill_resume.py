"""A run killed with SIGKILL mid-epoch resumes from ``latest`` and ends exactly like an uninterrupted run."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from semiocr.core.config import dump_config
from semiocr.core.weights.checkpoint import read_checkpoint
from semiocr.core.weights.resolve import resume_checkpoint

DRIVER = Path(__file__).with_name("hang_driver.py")


def _env():
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join(
        [str(Path(__file__).parents[3] / "src"), os.environ.get("PYTHONPATH", "")]))
    return env


def _cli(*args):
    cmd = [sys.executable, "-m", "semiocr.cli.main", "train", "rec", "--quiet", *args]
    proc = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


@pytest.mark.slow
def test_sigkill_mid_epoch_then_resume_matches_uninterrupted(small_digits, tmp_path, tiny_config):
    # 48 lines / batch 8 = 6 steps per epoch, 3 epochs; latest every 2 steps; killed right after step 8
    cfg = tiny_config(small_digits, tmp_path / "killed", epochs=3, save_interval_steps=2, augment="strong")
    dump_config(cfg, tmp_path / "cfg.yaml")
    _cli("-c", str(tmp_path / "cfg.yaml"), "-o", f"output_dir={tmp_path / 'full'}")

    marker = tmp_path / "marker"
    proc = subprocess.Popen([sys.executable, str(DRIVER), str(tmp_path / "cfg.yaml"), "8", str(marker)],
                            env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 240
    while not marker.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert marker.exists(), proc.stderr.read().decode()[-3000:] if proc.poll() is not None else "timeout"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    latest = read_checkpoint(resume_checkpoint(tmp_path / "killed"))
    assert (latest["train"]["epoch"], latest["train"]["epoch_step"]) == (1, 2)  # mid-epoch 2

    _cli("-c", str(tmp_path / "cfg.yaml"), "-o", f"resume={tmp_path / 'killed'}")
    full = read_checkpoint(resume_checkpoint(tmp_path / "full"))
    resumed = read_checkpoint(resume_checkpoint(tmp_path / "killed"))
    assert resumed["meta"].step == full["meta"].step == 18
    # CPU, one thread, no workers, seeded sampler and per-sample augmentation RNG: we expect identical
    # results; the stated tolerance is 1e-6 on every weight and exact equality of the final val metrics.
    for k, v in full["model"].items():
        assert torch.allclose(v.float(), resumed["model"][k].float(), atol=1e-6), k
    assert resumed["meta"].metrics == full["meta"].metrics
    assert resumed["train"]["best"] == full["train"]["best"]


@pytest.mark.slow
def test_sigterm_stops_cleanly_with_latest_saved(small_digits, tmp_path, tiny_config):
    cfg = tiny_config(small_digits, tmp_path / "run", epochs=200, save_interval_steps=2)
    dump_config(cfg, tmp_path / "cfg.yaml")
    cmd = [sys.executable, "-m", "semiocr.cli.main", "train", "rec", "--quiet", "-c", str(tmp_path / "cfg.yaml")]
    proc = subprocess.Popen(cmd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    metrics = tmp_path / "run" / "metrics.jsonl"
    deadline = time.time() + 240
    while (not metrics.exists() or '"checkpoint"' not in metrics.read_text()) and time.time() < deadline:
        assert proc.poll() is None, proc.stderr.read()[-3000:]
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 3, err[-3000:]  # every kind of job: 3 = stopped, resumable
    assert "stopped: epoch" in err and "run the same command again to resume" in err
    latest = read_checkpoint(resume_checkpoint(tmp_path / "run"))
    assert 0 < latest["meta"].step < 200 * 6
    last = metrics.read_text().strip().splitlines()[-1]
    assert '"end"' in last and '"stopped"' in last
