"""``semiocr train det`` / ``eval det`` (with and without ``--rec``) / ``predict ocr`` end to end on generated data."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
from data_helpers import make_det_dataset
from text_pages import generated_page, write_text_pages
from typer.testing import CliRunner

from semiocr.cli.main import app


def _json_after_log(output: str) -> dict:
    return json.loads(output[output.index("{"):])


def test_train_then_eval_a_tiny_detector(tmp_path: Path) -> None:
    root, run = tmp_path / "data", tmp_path / "run"
    make_det_dataset(root, n_train=2, n_val=1)
    runner = CliRunner()
    res = runner.invoke(app, ["train", "det", "--quiet", "-o", f"data_dir={root}", "-o", f"output_dir={run}",
                              "-o", "arch=PP-OCRv4-mobile-det-tiny", "-o", "pretrained=null", "-o", "epochs=1",
                              "-o", "batch_size=2", "-o", "input_size=128", "-o", "workers=0", "-o", "device=cpu"])
    assert res.exit_code == 0, res.output
    assert "succeeded: epoch 1, step 1, best hmean" in res.output and (run / "checkpoints" / "best.pt").is_file()
    res = runner.invoke(app, ["eval", "det", "-w", str(run), "-d", str(root), "--split", "det_val.txt",
                              "--out", str(tmp_path / "rep")])
    assert res.exit_code == 0, res.output
    summary = _json_after_log(res.stdout)
    per_image = [json.loads(x) for x in (tmp_path / "rep" / "per_image.jsonl").read_text().splitlines()]
    assert summary["n_gt"] == 2 and summary["n_images"] == len(per_image) == 1  # two bars; '###' is don't-care
    assert summary["n_det"] == per_image[0]["n_det"] and summary["n_match"] == per_image[0]["n_match"]
    assert json.loads((tmp_path / "rep" / "summary.json").read_text()) == summary


def test_eval_det_with_rec_reads_generated_pages(tmp_path: Path) -> None:
    """``eval det --rec``: the imported detector finds every printed line and the recognizer reads them."""
    texts = write_text_pages(tmp_path / "pages", [3])
    res = CliRunner().invoke(app, ["eval", "det", "-w", "PP-OCRv4-mobile-det", "--rec", "PP-OCRv4-mobile-rec",
                                   "-d", str(tmp_path / "pages"), "--out", str(tmp_path / "rep")])
    assert res.exit_code == 0, res.output
    summary = _json_after_log(res.stdout)
    n_lines = sum(len(t) for t in texts)
    assert summary["n_gt"] == n_lines and summary["hmean"] == 1.0
    assert summary["e2e_exact"] >= 0.8 and summary["n_exact"] == round(summary["e2e_exact"] * n_lines)
    per_image = [json.loads(x) for x in (tmp_path / "rep" / "per_image.jsonl").read_text().splitlines()]
    assert [len(r["texts"]) for r in per_image] == [len(t) for t in texts]


def test_predict_ocr_reads_a_page_and_nothing_on_a_blank_one(tmp_path: Path) -> None:
    img, truth = generated_page(2)
    page, blank = tmp_path / "page.png", tmp_path / "blank.png"
    cv2.imwrite(str(page), img)
    cv2.imwrite(str(blank), np.full((40, 50), 255, np.uint8))
    res = CliRunner().invoke(app, ["predict", "ocr", str(page), str(blank), "--out", str(tmp_path / "ocr")])
    assert res.exit_code == 0, res.output
    printed = [json.loads(line) for line in res.stdout.splitlines() if line.startswith("{")]
    doc, empty = (json.loads((tmp_path / "ocr" / f"{p.stem}.json").read_text()) for p in (page, blank))
    assert printed == [doc, empty]
    assert (empty["width"], empty["height"], empty["lines"]) == (50, 40, [])
    assert (doc["width"], doc["height"]) == (700, 520) and len(doc["lines"]) == len(truth)
    read = [line["text"] for line in doc["lines"]]
    assert sum(r == t for r, (t, _) in zip(read, truth, strict=True)) >= len(truth) - 1, read
    for line, (_, box) in zip(doc["lines"], truth, strict=True):  # in reading order, each around its line
        poly, box = np.array(line["polygon"]), np.array(box)
        assert np.abs(poly.min(axis=0) - box.min(axis=0)).max() <= 12
        assert np.abs(poly.max(axis=0) - box.max(axis=0)).max() <= 12
    pic = cv2.imread(str(tmp_path / "ocr" / "page.jpg"))
    assert pic.shape == (520, 1400, 3)


def test_bad_weights_and_unreadable_images_are_clear_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["predict", "ocr", str(tmp_path / "x.png"), "--det", str(tmp_path / "nope.pt")])
    assert res.exit_code == 2 and "nope.pt" in res.output
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"garbage")
    res = runner.invoke(app, ["predict", "ocr", str(bad), "--out", str(tmp_path / "o")])
    assert res.exit_code == 1 and "bad.png" in res.output
