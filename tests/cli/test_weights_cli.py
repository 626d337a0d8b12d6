"""Every weights argument of the CLI takes a preset name, a checkpoint file and a run directory, with the same
rule (``semiocr.core.weights.resolve``): ``predict rec -w``, ``eval rec -w``, ``eval det -w``, ``predict ocr --det
--rec``, ``train rec -o pretrained=``, ``train det -o pretrained=`` (LMSSL's ``model.pretrained`` and
``student.teacher_weights``: ``tests/core/ssl/test_ssl_cli.py``). A file and its run directory give identical
results; a preset gives the imported model's (good) results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from data_helpers import make_det_dataset
from synthetic_lines import make_rec_dataset
from text_pages import write_text_pages
from typer.testing import CliRunner

from semiocr.cli.main import app
from semiocr.core.data.images import read_image
from semiocr.core.inference.pipeline import build_pipeline
from semiocr.core.weights.checkpoint import read_checkpoint

REC_PRESET, DET_PRESET = "PP-OCRv4-mobile-rec", "PP-OCRv4-mobile-det"
runner = CliRunner()


def _ok(args: list[str]) -> str:
    res = runner.invoke(app, [str(a) for a in args])
    assert res.exit_code == 0, res.output
    return res.output


def _json_after_log(output: str) -> dict:
    return json.loads(output[output.index("{"):])


def _logs(run: Path) -> list[str]:
    return [e["message"] for e in map(json.loads, (run / "metrics.jsonl").read_text().splitlines())
            if e["kind"] == "log"]


@pytest.fixture(scope="module")
def rec_run(tmp_path_factory) -> tuple[Path, Path]:
    """A generated digit-line dataset and a one-epoch ``rec-tiny`` run on it (through ``train rec``)."""
    base = tmp_path_factory.mktemp("rec")
    root = make_rec_dataset(base / "ds", n_train=16, n_val=6, seed=4)
    _ok(["train", "rec", "--quiet", "-o", "arch=rec-tiny", "-o", f"data_dir={root}", "-o", f"output_dir={base / 'run'}",
         "-o", "epochs=1", "-o", "batch_size=8", "-o", "use_space=false", "-o", "workers=0", "-o", "device=cpu"])
    return root, base / "run"


@pytest.fixture(scope="module")
def det_run(tmp_path_factory) -> tuple[Path, Path]:
    """Generated bar pages (det_train/det_val), one printed page (text_val.txt) and a one-epoch tiny detector run."""
    base = tmp_path_factory.mktemp("det")
    root = base / "ds"
    make_det_dataset(root, n_train=2, n_val=1)
    write_text_pages(root, [2], "text_val.txt")
    _ok(["train", "det", "--quiet", "-o", f"data_dir={root}", "-o", f"output_dir={base / 'run'}", "-o",
         "arch=PP-OCRv4-mobile-det-tiny", "-o", "pretrained=null", "-o", "epochs=1", "-o", "batch_size=2", "-o",
         "input_size=128", "-o", "workers=0", "-o", "device=cpu", "-o", "limit_side_len=160"])
    return root, base / "run"


def _best(run: Path) -> Path:
    return run / "checkpoints" / "best.pt"


def test_predict_rec_and_eval_rec(rec_run) -> None:
    root, run = rec_run
    val = [line.split("\t") for line in (root / "val.txt").read_text().splitlines()]
    images = [str(root / rel) for rel, _ in val]
    reads = {spec: [json.loads(x) for x in _ok(["predict", "rec", "-w", spec, "--device", "cpu", "--json", *images])
                    .splitlines()] for spec in (_best(run), run, REC_PRESET)}
    assert reads[_best(run)] == reads[run]
    preset_texts = [r["text"] for r in reads[REC_PRESET]]
    assert sum(p == t for p, (_, t) in zip(preset_texts, val, strict=True)) >= 4, preset_texts  # it reads digits
    metrics = {spec: json.loads(_ok(["eval", "rec", "-w", spec, "-d", root, "--device", "cpu"]))
               for spec in (_best(run), run, REC_PRESET)}
    assert metrics[_best(run)] == metrics[run]
    assert metrics[REC_PRESET]["acc"] == pytest.approx(sum(p == t for p, (_, t) in zip(preset_texts, val,
                                                                                         strict=True)) / len(val))


def test_eval_det(det_run) -> None:
    root, run = det_run
    summaries = [_json_after_log(_ok(["eval", "det", "-w", spec, "-d", root])) for spec in (_best(run), run)]
    assert summaries[0] == summaries[1] and summaries[0]["n_gt"] == 2
    preset = _json_after_log(_ok(["eval", "det", "-w", DET_PRESET, "-d", root, "--split", "text_val.txt"]))
    assert preset["hmean"] == 1.0 and preset["n_gt"] >= 4  # every printed line found


def test_predict_ocr(det_run, rec_run, tmp_path) -> None:
    root, det = det_run
    _, rec = rec_run
    page = root / "images" / "page_2.png"

    def ocr(det_spec, rec_spec, *extra) -> dict:
        out = tmp_path / f"o{len(list(tmp_path.iterdir()))}"
        _ok(["predict", "ocr", page, "--det", det_spec, "--rec", rec_spec, "--out", out, *extra])
        doc = json.loads((out / "page_2.json").read_text())
        del doc["timings_ms"]
        return doc

    both = ocr(DET_PRESET, REC_PRESET)
    assert len(both["lines"]) >= 4 and all(line["score"] >= 0.5 for line in both["lines"])
    # the preset detector with the tiny recognizer as a file or as its run directory: the same lines
    tiny_file, tiny_dir = (ocr(DET_PRESET, spec, "--text-score", "0") for spec in (_best(rec), rec))
    assert tiny_file == tiny_dir
    assert [line["polygon"] for line in tiny_file["lines"]] == [line["polygon"] for line in both["lines"]]
    # the tiny detector as a file or a run directory: the same result as the pipeline built in-process
    det_file, det_dir = (ocr(spec, REC_PRESET) for spec in (_best(det), det))
    want = build_pipeline(_best(det), REC_PRESET)(read_image(page)).to_dict()
    del want["timings_ms"]
    assert det_file == det_dir == {"image": str(page), **json.loads(json.dumps(want))}


def test_train_rec_pretrained(rec_run, tmp_path) -> None:
    root, run = rec_run
    common = ["-o", f"data_dir={root}", "-o", "epochs=1", "-o", "batch_size=8", "-o", "use_space=false", "-o",
              "workers=0", "-o", "device=cpu", "-o", "eval_at_start=true"]
    for spec, shown in ((_best(run), str(_best(run))), (run, f"{run} ({_best(run)})")):
        out = tmp_path / f"ft{len(list(tmp_path.iterdir()))}"
        _ok(["train", "rec", "--quiet", "-o", "arch=rec-tiny", "-o", f"pretrained={spec}", "-o", f"output_dir={out}",
             *common])
        assert f"start weights loaded from {shown}" in _logs(out)
        assert read_checkpoint(_best(out))["meta"].parent == str(_best(run))  # lineage: the file, not the alias
    out = tmp_path / "preset"
    text = _ok(["train", "rec", "--quiet", "-o", f"arch={REC_PRESET}", "-o", f"pretrained={REC_PRESET}", "-o",
                f"output_dir={out}", "-o", "learning_rate=1e-5", *common])
    assert any(m.startswith(f"start weights loaded from preset {REC_PRESET}; dict changed (6625 → 11 classes)")
               for m in _logs(out))
    start = next(e for e in map(json.loads, (out / "metrics.jsonl").read_text().splitlines())
                 if e["kind"] == "metrics" and e["epoch"] == 0)
    assert start["acc"] >= 0.5, start  # the imported weights read the digits before any training
    assert "best acc" in text and read_checkpoint(_best(out))["meta"].parent == REC_PRESET


def test_train_det_pretrained(det_run, tmp_path) -> None:
    root, run = det_run
    common = ["-o", f"data_dir={root}", "-o", "epochs=1", "-o", "batch_size=2", "-o", "input_size=128", "-o",
              "workers=0", "-o", "device=cpu"]
    for spec, shown in ((_best(run), str(_best(run))), (run, f"{run} ({_best(run)})")):
        out = tmp_path / f"ft{len(list(tmp_path.iterdir()))}"
        _ok(["train", "det", "--quiet", "-o", "arch=PP-OCRv4-mobile-det-tiny", "-o", f"pretrained={spec}",
             "-o", f"output_dir={out}", "-o", "limit_side_len=160", *common])
        assert f"start weights loaded from {shown}" in _logs(out)
        assert read_checkpoint(_best(out))["meta"].parent == str(_best(run))  # lineage: the file, not the alias
    out = tmp_path / "preset"
    text = _ok(["train", "det", "--quiet", "-o", f"arch={DET_PRESET}", "-o", f"pretrained={DET_PRESET}", "-o",
                f"output_dir={out}", "-o", "val_file=text_val.txt", "-o", "eval_at_start=true", "-o",
                "learning_rate=1e-6", *common])
    assert f"start weights loaded from preset {DET_PRESET}" in _logs(out) and "best hmean" in text
    start = next(e for e in map(json.loads, (out / "metrics.jsonl").read_text().splitlines())
                 if e["kind"] == "metrics" and e["epoch"] == 0)
    assert start["hmean"] == 1.0  # the imported detector finds every printed line before any training
