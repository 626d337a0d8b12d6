"""``semiocr train det`` / ``eval det`` / ``predict ocr`` end to end on generated data (tiny models)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
from data_helpers import make_det_dataset
from typer.testing import CliRunner

from semiocr.cli.main import app


def test_train_eval_predict_with_a_tiny_detector(tmp_path: Path) -> None:
    root, run = tmp_path / "data", tmp_path / "run"
    make_det_dataset(root, n_train=2, n_val=1)
    runner = CliRunner()
    res = runner.invoke(app, ["train", "det", "--quiet", "-o", f"data_dir={root}", "-o", f"output_dir={run}",
                              "-o", "arch=PP-OCRv4-mobile-det-tiny", "-o", "pretrained=null", "-o", "epochs=1",
                              "-o", "batch_size=2", "-o", "input_size=128", "-o", "workers=0", "-o", "device=cpu"])
    assert res.exit_code == 0, res.output
    assert "best hmean" in res.output and (run / "checkpoints" / "best.pt").is_file()
    res = runner.invoke(app, ["eval", "det", "-w", str(run), "-d", str(root), "--split", "det_val.txt",
                              "--out", str(tmp_path / "rep")])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout[res.stdout.index("{"):])["n_gt"] == 2
    assert (tmp_path / "rep" / "per_image.jsonl").is_file()
    page = tmp_path / "page.png"
    cv2.imwrite(str(page), np.full((40, 50), 255, np.uint8))
    res = runner.invoke(app, ["predict", "ocr", str(page), "--det", str(run), "--rec", "PP-OCRv4-mobile-rec",
                              "--out", str(tmp_path / "ocr")])
    assert res.exit_code == 0, res.output
    doc = json.loads((tmp_path / "ocr" / "page.json").read_text())
    assert doc["width"] == 50 and doc["height"] == 40 and isinstance(doc["lines"], list)
    assert (tmp_path / "ocr" / "page.jpg").is_file()


def test_bad_weights_and_unreadable_images_are_clear_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["predict", "ocr", str(tmp_path / "x.png"), "--det", str(tmp_path / "nope.pt")])
    assert res.exit_code == 2 and "nope.pt" in res.output
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"garbage")
    res = runner.invoke(app, ["predict", "ocr", str(bad), "--out", str(tmp_path / "o")])
    assert res.exit_code == 1 and "bad.png" in res.output
