import json
import re
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from semiocr.cli.demo import STEPS, run_demo
from semiocr.cli.demo_presets import DEMO, PRESETS, QUICK, DemoContext
from semiocr.cli.demo_steps import DemoSink, pseudo_label_quality, step_summary
from semiocr.cli.main import app
from semiocr.core.data.synth import SynthConfig
from semiocr.core.events import CheckpointSaved, Metrics, PseudoLabelStats, StageChanged
from semiocr.core.ssl.config import LmsslConfig
from semiocr.platform.datasets import DatasetStore

TINY = SynthConfig(n_train=4, n_val=2, n_test=1, n_unlabeled=3, pages_train=1, pages_val=1)


def test_demo_generates_validates_registers(tmp_path, fresh_home, capsys):
    ctx = run_demo(tmp_path / "out", steps=STEPS[:3], synth=TINY)
    assert [name for name, _ in STEPS] == ["generate", "validate", "register", "train lmssl (joint)",
                                           "evaluate small", "full-page ocr", "offline package", "ocr service",
                                           "summary"]
    assert (tmp_path / "out" / "report" / "report.json").is_file()
    assert (tmp_path / "out" / "report" / "label_length.png").is_file()
    [ds] = DatasetStore().list()
    assert ds.ref == "demo:v1" and ctx.results["dataset"].hash == ds.hash
    assert ctx.data_root == Path(ds.path) and (ctx.data_root / "test.txt").is_file()
    run_demo(tmp_path / "out", steps=STEPS[:3], synth=TINY)
    assert "already registered as demo:v1" in capsys.readouterr().out and len(DatasetStore().list()) == 1


def test_steps_run_in_order_with_shared_context(tmp_path, fresh_home, capsys):
    seen = []

    def first(ctx: DemoContext) -> str:
        ctx.results["thing"] = ctx.out / "thing.txt"
        seen.append("first")
        time.sleep(0.2)
        return "made a thing"

    def second(ctx: DemoContext) -> str:
        seen.append(f"second saw {ctx.path('thing').name}")
        return "used it"

    ctx = run_demo(tmp_path / "o", steps=[("one", first), ("two", second)], synth=TINY)
    out = capsys.readouterr().out.splitlines()
    assert seen == ["first", "second saw thing.txt"]
    assert out[0].startswith("[1/2] one (") and out[0].endswith("s): made a thing")
    step_s = float(re.search(r"\((\d+\.\d)s\)", out[0]).group(1))  # the step's time, to 0.1 s
    assert step_s >= 0.2 and 0.2 <= ctx.results["wall_s"] < step_s + 5  # the whole demo's time holds the step's
    assert out[1].startswith("[2/2] two (") and out[1].endswith("s): used it")
    with pytest.raises(RuntimeError, match="no 'small_best' yet"):
        ctx.path("small_best")


def test_an_error_stops_the_demo(tmp_path, fresh_home):
    ran = []

    def boom(ctx: DemoContext) -> str:
        raise RuntimeError("broken step")

    with pytest.raises(RuntimeError, match="broken step"):
        run_demo(tmp_path / "o", steps=[("boom", boom), ("after", lambda ctx: ran.append(1) or "x")], synth=TINY)
    assert ran == []


@pytest.mark.parametrize("preset", [DEMO, QUICK])
def test_presets_are_valid_lmssl_configs(tmp_path, preset):
    raw = dict(preset.lmssl)
    cfg = LmsslConfig.model_validate({**raw, "data": {**raw["data"], "root": str(tmp_path)}, "output_dir": "x"})
    assert cfg.mode == "joint" and cfg.teacher.rounds >= 1
    assert cfg.student.model.pretrained == "PP-OCRv4-mobile-rec"
    assert PRESETS[preset.name] is preset and preset.synth.pages_val >= preset.ocr_pages
    assert preset.synth.n_unlabeled > 0 and preset.synth.n_test > 0


def _write_pseudo(run: Path, root: Path) -> None:
    (run / "pseudo").mkdir(parents=True)
    rows = [("images/a.jpg", "AB", 0.99), ("images/b.jpg", "CX", 0.95), ("images/c.jpg", "EF", 0.4)]
    (run / "pseudo" / "final.tsv").write_text("".join(f"{p}\t{t}\t{c}\n" for p, t, c in rows), encoding="utf-8")
    (run / "pseudo" / "final.json").write_text(json.dumps({"predicted": 3, "kept": 2}), encoding="utf-8")
    (root / "unlabeled_truth.txt").write_text("images/a.jpg\tAB\nimages/b.jpg\tCD\nimages/c.jpg\tEF\n",
                                              encoding="utf-8")


def test_pseudo_label_quality_against_truth(tmp_path):
    run, root = tmp_path / "run", tmp_path / "data"
    root.mkdir()
    _write_pseudo(run, root)
    q = pseudo_label_quality(run, root)
    assert q == {"pool": 3.0, "kept": 2.0, "precision_kept": 0.5, "precision_all": pytest.approx(2 / 3)}
    (root / "unlabeled_truth.txt").unlink()
    assert pseudo_label_quality(run, root) == {"pool": 3.0, "kept": 2.0}


def test_summary_lists_recorded_outputs_and_numbers(tmp_path, capsys):
    ctx = DemoContext(tmp_path)
    ctx.results.update(run_dir=tmp_path / "run", small_best=tmp_path / "run" / "small_best.pt",
                       lmssl_summary={"large": {"final": {"acc": 0.9}}, "small": {"start": {"acc": 0.6},
                                                                                  "final": {"acc": 0.8}}},
                       eval_metrics={"acc": 0.75, "cer": 0.05, "norm_edit": 0.9, "acc_caseless": 0.8},
                       ocr_pictures=[tmp_path / "ocr" / "p.jpg"], ocr_summary={"hmean": 1.0, "e2e_exact": 0.5})
    step_summary(ctx)
    doc = json.loads((tmp_path / "summary.json").read_text())
    whats = [o["what"] for o in doc["outputs"]]
    assert "best small weights" in whats and "OCR picture" in whats and "best large weights" not in whats
    assert doc["headline"] == {"large_val_acc_final": 0.9, "small_val_acc_start": 0.6, "small_val_acc_final": 0.8,
                               "small_test_acc": 0.75, "small_test_acc_caseless": 0.8, "small_test_norm_edit": 0.9,
                               "small_test_cer": 0.05, "ocr_hmean": 1.0, "ocr_e2e_exact": 0.5}
    md = (tmp_path / "summary.md").read_text()
    assert "| small_test_acc | 75.0% |" in md and str(tmp_path / "ocr" / "p.jpg") in capsys.readouterr().out


def test_demo_sink_prints_stages_pseudo_counts_and_metrics_but_not_checkpoints(capsys):
    sink = DemoSink()
    sink(StageChanged(stage="large_warmup", round=0))
    sink(PseudoLabelStats(stage="pseudo_round1", round=1, name="round1", kept=3, pool=5, threshold=0.9,
                          top_fraction=0.6))
    sink(Metrics(stage="large_warmup", round=0, epoch=1, step=4, values={"acc": 0.5}, best=0.5, is_best=True))
    sink(CheckpointSaved(stage="large_warmup", round=0, path="/x/best.pt", type="best", epoch=1, step=4))
    out = capsys.readouterr().out
    assert "stage large_warmup (round 0)" in out and "kept 3 of 5 pseudo-labels" in out
    assert "[large_warmup] eval epoch 1: acc=0.5" in out and "/x/best.pt" not in out


@pytest.mark.slow
def test_quick_demo_end_to_end(tmp_path, fresh_home):
    """The whole demo with the QUICK preset (about a minute on a 2-core CPU)."""
    result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path / "demo"), "--quick"])
    assert result.exit_code == 0, result.output
    out = tmp_path / "demo"
    doc = json.loads((out / "summary.json").read_text())
    for o in doc["outputs"]:
        assert Path(o["path"]).exists(), o
    run = out / "lmssl_run"
    for name in ("large_best.pt", "small_best.pt", "pseudo_labels.tsv", "summary.md", "events.jsonl"):
        assert (run / name).is_file(), name
    assert (out / "eval_small_test" / "predictions.csv").is_file()
    assert (out / "eval_small_test" / "metrics.json").is_file()
    [page] = sorted((out / "ocr").glob("*.json"))
    assert json.loads(page.read_text())["lines"] and (out / "ocr" / f"{page.stem}.jpg").is_file()
    h = doc["headline"]
    # chance for an exact match of a random 2–10 character line is ~0; the imported weights read most lines
    assert h["small_val_acc_final"] > 0.2 and h["small_test_acc"] > 0.2 and h["small_test_cer"] < 0.5
    assert h["ocr_hmean"] > 0.5 and 0 < h["pseudo_kept"] <= h["pseudo_pool"] == QUICK.synth.n_unlabeled
    assert "[9/9] summary" in result.output and "done in" in result.output
    assert (out / "package" / "semiocr-demo-ocr.zip").is_file() and "verify passed" in result.output
    answer = json.loads((out / "service_answer.json").read_text())
    assert answer["answer"]["lines"] and "answered POST /v1/ocr with a new token" in result.output


def test_an_output_folder_of_another_preset_is_refused(tmp_path, fresh_home):
    run_demo(tmp_path / "o", steps=[("noop", lambda ctx: "ok")], synth=TINY)
    run_demo(tmp_path / "o", steps=[("noop", lambda ctx: "ok")], synth=TINY)  # same settings: fine
    with pytest.raises(RuntimeError, match="holds a demo made with other settings"):
        run_demo(tmp_path / "o", steps=[("noop", lambda ctx: "ok")], preset=QUICK)
