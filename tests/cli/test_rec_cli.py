import json

import numpy as np
from synthetic_lines import make_rec_dataset
from typer.testing import CliRunner

from semiocr.cli.main import app

runner = CliRunner()


def test_train_eval_predict_rec(tmp_path):
    root = make_rec_dataset(tmp_path / "ds", n_train=24, n_val=8, seed=3)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"arch: rec-tiny\ndata_dir: {root}\nuse_space: false\nworkers: 0\ndevice: cpu\n", encoding="utf-8")
    out = tmp_path / "run"
    res = runner.invoke(app, ["train", "rec", "--quiet", "-c", str(cfg), "-o", "epochs=1", "-o", "batch_size=8",
                              "-o", f"output_dir={out}"])
    assert res.exit_code == 0, res.output
    assert "succeeded: epoch 1, step 3" in res.output
    assert (out / "checkpoints" / "best.pt").is_file() and (out / "config.yaml").is_file()

    res = runner.invoke(app, ["eval", "rec", "--weights", str(out), "--data", str(root), "--device", "cpu",
                              "--out", str(tmp_path / "eval")])
    assert res.exit_code == 0, res.output
    metrics = json.loads(res.output)
    assert metrics["n"] == 8 and 0.0 <= metrics["acc"] <= 1.0 and "cer" in metrics
    assert (tmp_path / "eval" / "predictions.csv").read_text(encoding="utf-8").count("\n") == 9

    images = [str(root / "images" / f"val_0000{i}.png") for i in range(3)]
    res = runner.invoke(app, ["predict", "rec", "--weights", str(out / "checkpoints" / "best.pt"), "--device", "cpu",
                              "--json", "--rotate-180", *images])
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in res.output.splitlines()]
    assert [r["image"] for r in rows] == images
    assert all(0.0 <= r["confidence"] <= 1.0 and len(r["char_scores"]) == len(r["text"]) for r in rows)
    assert all(r["angle"] in (0, 180) for r in rows)
    assert np.isfinite([r["confidence"] for r in rows]).all()


def test_train_rec_reports_bad_config_without_traceback(tmp_path):
    res = runner.invoke(app, ["train", "rec", "-o", "epochs=0", "-o", "arch=rec-tiny"])
    assert res.exit_code == 2
    assert "epochs" in res.output and "Traceback" not in res.output
