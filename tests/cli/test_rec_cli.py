import csv
import json

import pytest
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

    val = [line.split("\t") for line in (root / "val.txt").read_text(encoding="utf-8").splitlines()]
    images = [str(root / rel) for rel, _ in val]
    reads = {}
    for flag in ([], ["--rotate-180"]):
        rep = tmp_path / f"eval{len(flag)}"
        res = runner.invoke(app, ["eval", "rec", "--weights", str(out), "--data", str(root), "--device", "cpu",
                                  "--out", str(rep), *flag])
        assert res.exit_code == 0, res.output
        metrics = json.loads(res.output)
        with open(rep / "predictions.csv", encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
        assert [r["image"] for r in rows] == images and [r["truth"] for r in rows] == [t for _, t in val]
        # the printed metrics are those of the written predictions
        assert metrics["n"] == len(rows) == 8
        assert metrics["acc"] == pytest.approx(sum(int(r["correct"]) for r in rows) / 8)
        assert all(int(r["correct"]) == (r["prediction"] == r["truth"]) for r in rows)
        edits, chars = sum(int(r["edit_distance"]) for r in rows), sum(len(t) for _, t in val)
        assert metrics["cer"] == pytest.approx(edits / chars)
        assert json.loads((rep / "metrics.json").read_text()) == metrics
        # predict rec with the checkpoint file reads the same images exactly as eval rec did with the run dir
        res = runner.invoke(app, ["predict", "rec", "--weights", str(out / "checkpoints" / "best.pt"), "--device",
                                  "cpu", "--json", *flag, *images])
        assert res.exit_code == 0, res.output
        preds = [json.loads(line) for line in res.output.splitlines()]
        assert [r["image"] for r in preds] == images
        assert [r["text"] for r in preds] == [r["prediction"] for r in rows]
        assert [round(r["confidence"], 4) for r in preds] == [float(r["confidence"]) for r in rows]
        assert all(len(r["char_scores"]) == len(r["text"]) for r in preds)
        reads[bool(flag)] = preds
    # --rotate-180 keeps, per line, the more confident of the upright and the turned reading
    for upright, both in zip(reads[False], reads[True], strict=True):
        assert upright["angle"] == 0 and both["angle"] in (0, 180)
        assert both["confidence"] >= upright["confidence"]
        if both["angle"] == 0:
            assert both["text"] == upright["text"] and both["confidence"] == upright["confidence"]


def test_train_rec_reports_bad_config_without_traceback(tmp_path):
    res = runner.invoke(app, ["train", "rec", "-o", "epochs=0", "-o", "arch=rec-tiny"])
    assert res.exit_code == 2
    assert "epochs" in res.output and "Traceback" not in res.output
