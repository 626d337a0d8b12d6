"""The benchmark scripts stay in step with the package: each one imports (its module level names exist), and
the pure helpers that turn measurements into reports behave."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
SCRIPTS = sorted(p.stem for p in BENCH.glob("*.py"))


@pytest.mark.parametrize("name", [s for s in SCRIPTS if s != "service_load"])  # locust: the `bench` extra
def test_benchmark_script_imports(name, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    module = importlib.import_module(name)
    assert callable(getattr(module, "main", None)) or name.endswith("_common") or name == "bench_data"


def test_benchmark_scripts_show_their_usage():
    for name in ("ssl_gain", "distill_rerun", "label_curve", "warmup_stability", "rec_presets_zeroshot",
                 "label_subsets"):
        out = subprocess.run([sys.executable, str(BENCH / f"{name}.py"), "--help"], capture_output=True, text=True,
                             timeout=120)
        assert out.returncode == 0 and "usage:" in out.stdout, (name, out.stderr[-2000:])


def test_label_subset_moves_the_other_labelled_lines_into_the_pool(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    from label_subsets import make_subset
    from synthetic_lines import make_rec_dataset

    src = make_rec_dataset(tmp_path / "src", n_train=10, n_val=3, n_unlabeled=4)
    (src / "test.txt").write_text((src / "val.txt").read_text())
    (src / "unlabeled_truth.txt").write_text("".join(f"images/unlabeled_{i:05d}.png\tx\n" for i in range(4)))
    dst = make_subset(src, tmp_path / "dst", 3, seed=1)
    train = (dst / "train.txt").read_text().splitlines()
    pool = (dst / "train_unlabeled.txt").read_text().splitlines()
    truth = (dst / "unlabeled_truth.txt").read_text().splitlines()
    assert len(train) == 3 and len(pool) == 7 + 4 and len(truth) == 11
    assert {r.split("\t")[0] for r in train}.isdisjoint(pool)
    assert [t.split("\t")[0] for t in truth] == pool
    assert set(train) | set(truth[:7]) == set((src / "train.txt").read_text().splitlines())
    assert (dst / "images" / pool[0].removeprefix("images/")).is_file()
    with pytest.raises(ValueError, match="10 labelled lines, 11 asked for"):
        make_subset(src, tmp_path / "big", 11)


def test_gap_closed_is_reported_only_for_sound_baselines(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    from ssl_gain import gap_report

    def res(sup: float, dist: float, ora: float, sound: bool = True, converged: bool = True,
            sup_converged: bool | None = None) -> dict:
        test = {"small supervised-only": {"acc": sup}, "small distilled (joint)": {"acc": dist},
                "small oracle": {"acc": ora, "n": 200}}
        supervised = {"sound": sound} | ({} if sup_converged is None else {"converged": sup_converged})
        return {"test": test, "supervised": supervised,
                "oracle": {"improved": True, "converged": converged, "max_epochs": 12}}

    assert gap_report(res(0.80, 0.86, 0.90), "acc") == "0.60"
    assert gap_report(res(0.80, 0.92, 0.90), "acc").startswith("1.20 — OUTSIDE [0, 1]: distilled beats the oracle")
    assert "one line is 0.50 points" in gap_report(res(0.80, 0.92, 0.90), "acc")
    assert "below supervised-only" in gap_report(res(0.80, 0.78, 0.90), "acc")
    assert gap_report(res(0.80, 0.86, 0.90, sound=False), "acc").startswith(
        "not reported (no learning rate of the supervised-only sweep beat the start weights")
    assert "still improving at its cap of 12 epochs" in gap_report(res(0.80, 0.86, 0.90, converged=False), "acc")
    assert gap_report(res(0.80, 0.86, 0.90, sup_converged=False), "acc") == (
        "not reported (the kept supervised-only setting was still improving at the end of its budget; raw value 0.60)")
    assert gap_report(res(0.80, 0.86, 0.90, sup_converged=True), "acc") == "0.60"
    assert gap_report(res(0.90, 0.86, 0.80), "acc").startswith("undefined")


def test_oracle_plateau_is_the_gain_of_its_last_epochs_over_the_best_before(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    from ssl_gain import last_epochs_gain

    metrics = tmp_path / "metrics.jsonl"
    assert last_epochs_gain(metrics, "acc", 2) is None  # nothing trained yet
    vals = [(0, 0.69), (1, 0.74), (2, 0.80), (0, 0.69), (3, 0.86), (4, 0.84), (5, 0.862)]  # a resume re-ran epoch 0
    lines = [{"kind": "metrics", "epoch": e, "acc": v} for e, v in vals] + [{"kind": "end", "epoch": 5}]
    metrics.write_text("".join(json.dumps(x) + "\n" for x in lines))
    assert last_epochs_gain(metrics, "acc", 2) == pytest.approx(0.002)  # 0.862 vs 0.86: a plateau
    assert last_epochs_gain(metrics, "acc", 3) == pytest.approx(0.062)  # 0.862 vs 0.80: still climbing
    assert last_epochs_gain(metrics, "acc", 6) is None


def test_joint_minutes_add_the_stages_of_every_call_that_ran_part_of_the_run(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    from ssl_gain import joint_minutes

    assert joint_minutes(tmp_path) is None  # not run yet
    seconds = {"large_warmup": 90.0, "small_distill": 2700.0 + 720.0}  # a resumed distillation: both calls' time
    (tmp_path / "summary.json").write_text(json.dumps({"mode": "joint", "stage_seconds": seconds}))
    assert joint_minutes(tmp_path) == 58.5


def test_distill_rerun_reuses_only_finished_small_warmups(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    from distill_rerun import reuse_small_warmups

    run, out = tmp_path / "run", tmp_path / "out"
    for name, finished in (("warmup", True), ("warmup_try1", True), ("warmup_try2", False), ("distill", True)):
        stage = run / "small" / name
        (stage / "checkpoints").mkdir(parents=True)
        (stage / "checkpoints" / "best.pt").write_bytes(name.encode())
        (stage / "start.json").write_text("{}")
        if finished:
            (stage / "done.json").write_text(json.dumps({"start": {}, "best": {"acc": 0.5}, "epochs": 1}))
    assert reuse_small_warmups(run, out) == ["warmup", "warmup_try1"]
    assert (out / "small" / "warmup_try1" / "checkpoints" / "best.pt").read_bytes() == b"warmup_try1"
    assert not (out / "small" / "warmup_try2").exists() and not (out / "small" / "distill").exists()


def test_supervised_sweep_trains_each_epoch_budget_under_its_own_name(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    from ssl_gain import _supervised
    from synthetic_lines import make_rec_dataset

    from semiocr.core.ssl.config import LmsslConfig

    root = make_rec_dataset(tmp_path / "ds", n_train=8, n_val=4)
    optim = {"epochs": 1, "learning_rate": 1e-3, "batch_size": 4, "warmup_steps": 0}
    cfg = LmsslConfig.model_validate({
        "mode": "joint", "output_dir": str(tmp_path / "joint"), "device": "cpu",
        "data": {"root": str(root), "use_space": False},
        "teacher": {"model": {"arch": "rec-tiny"}}, "student": {"model": {"arch": "rec-tiny"}, "warmup": optim}})
    best, info = _supervised(cfg, root, tmp_path / "sup", [1e-3], [1.0], epochs=[1, 2])
    assert set(info["sweep"]) == {"lr_0.001", "lr_0.001_e2"}  # the warm-up's own budget keeps the plain name
    ends = {name: [json.loads(r) for r in (tmp_path / "sup" / name / "metrics.jsonl").read_text().splitlines()
                   if '"end"' in r][-1] for name in info["sweep"]}
    assert ends["lr_0.001"]["epoch"] == 1 and ends["lr_0.001_e2"]["epoch"] == 2
    assert best.is_relative_to(tmp_path / "sup" / info["setting"])
    assert info["late_gain"] is not None and info["converged"] == (info["late_gain"] < info["min_delta"])


def test_a_joint_only_report_has_no_gap(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    from ssl_gain import markdown

    m = {"acc": 0.5, "norm_edit": 0.75, "cer": 0.25}
    res = {"dataset": "d", "preset": "cpu", "seed": 0, "minutes_total": 1.0, "supervised": None, "oracle": None,
           "test": {"large semi-supervised": m}, "test_both_ways": {"large semi-supervised": m},
           "pseudo": {"final": {"threshold": 0.5, "kept": 3, "pool": 4, "precision": 1.0, "kept_cer": 0.0,
                                "pool_acc": 0.75}}}
    text = markdown(res)
    assert "| large semi-supervised | 50.0 | 75.0 | 25.0 | 50.0 |" in text
    assert "Baselines not run" in text and "gap closed by" not in text
    assert "| final | 0.5 | 3 / 4 | 0 | 100.0 | 0.0 | 75.0 |" in text


def test_a_report_says_how_much_the_oracle_gained_at_its_end(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    from ssl_gain import markdown

    models = {"small supervised-only": 0.6, "small distilled (joint)": 0.7, "small oracle": 0.8}
    test = {k: {"acc": v, "norm_edit": v, "cer": 1 - v, "n": 100} for k, v in models.items()}
    oracle = {"best_epoch": 9, "max_epochs": 10, "patience": 2, "late_gain": 0.0052, "min_delta": 0.005,
              "converged": False, "improved": True}
    res = {"dataset": "d", "preset": "cpu", "seed": 0, "minutes_total": 1.0, "test": test, "test_both_ways": test,
           "supervised": {"setting": "lr_0.0005", "sound": True, "sweep": {}, "late_gain": 0.0062, "min_delta": 0.005,
                          "converged": False}, "oracle": oracle, "pseudo": {}}
    text = markdown(res)
    assert "epoch 9 of at most 10 (patience 2; its last 2 epochs gained +0.52 val points, converged below 0.50)" in text
    assert "kept lr_0.0005 (its last evaluation gained +0.62 val points, converged below 0.50)" in text
    assert ("exact not reported (the kept supervised-only setting was still improving at the end of its budget; "
            "the oracle was still improving at its cap of 10 epochs; raw value 0.50)") in text


def test_active_minutes_leave_out_the_pauses_of_the_event_log(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    from label_curve import joint_time
    from ssl_gain import active_minutes

    assert active_minutes(tmp_path) is None  # no event log yet
    times = [0, 60, 120, 120 + 1800, 120 + 1800 + 90]  # a 30-min pause between the third and the fourth event
    (tmp_path / "events.jsonl").write_text("".join(json.dumps({"time": t, "kind": "progress"}) + "\n" for t in times))
    events = active_minutes(tmp_path)
    assert events == {"minutes": 3.5, "gaps_left_out": 1, "minutes_left_out": 30.0}
    assert joint_time({"minutes_joint": 33.5, "minutes_joint_events": events}) == \
        "33.5 (event log: 3.5, 1 gap(s) of 30.0 min left out)"
    assert joint_time({"minutes_joint": 3.5, "minutes_joint_events": active_minutes(tmp_path, 3600)}) == "3.5"


def test_label_curve_draws_and_tabulates_results(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    from label_curve import CURVES, plot, table

    def result(labels: int, base: float, sound: bool = True) -> dict:
        test = {k: {"acc": base + 0.05 * i, "norm_edit": base + 0.1, "n": 100} for i, k in enumerate(CURVES)}
        return {"dataset": "captcha", "labels": labels, "test": test, "minutes_joint": 3.5,
                "supervised": {"sound": sound}, "oracle": {"improved": True, "converged": True, "max_epochs": 12}}

    held = result(50, 0.5) | {"val_summary": {"large": {"start": {"acc": 0.5}, "warmup": {"acc": 0.6}},
                                              "small": {"start": {"acc": 0.4}, "warmup": {"acc": 0.3}}}}
    curves = {"captcha": [held, result(100, 0.6, sound=False)]}
    png = plot(curves, tmp_path / "curve.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    rows = table(curves).splitlines()
    assert rows[2] == ("| captcha | 50 | exact | 50.0 | 55.0 | 60.0 | 65.0 | +10.0 | 0.67 | "
                       "large yes (50.0 → 60.0); small NO (40.0 → 30.0) | 3.5 |")
    assert rows[3].startswith("| captcha | 100 | exact | 60.0 | 65.0 | 70.0 | 75.0 | +10.0 | not reported (")
    assert rows[3].endswith("| not recorded | 3.5 |")
    assert rows[4] == "Mean gap closed over 1 point with sound baselines: 0.67 (target ≥ 0.70); left out: captcha 100."
    assert len(rows) == 5


def test_label_curve_redraws_files_that_named_the_subset(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    import label_curve

    test = {k: {"acc": 0.5, "n": 10} for k in label_curve.CURVES}
    row = {"dataset": "captcha_50", "labels": 50, "test": test, "minutes_total": 1.0,
           "supervised": {"sound": True}, "oracle": {"improved": True, "converged": True, "max_epochs": 12}}
    (tmp_path / "captcha.json").write_text(json.dumps([row]))
    monkeypatch.setattr(sys, "argv", ["label_curve.py", "--from-json", str(tmp_path / "captcha.json"),
                                      "--out", str(tmp_path)])
    label_curve.main()
    assert (tmp_path / "label_curve.png").is_file()


def _curve_dirs(tmp_path: Path, name: str, saved: list[dict] | None = None) -> Path:
    """A dataset ``name`` of 400 labelled lines under ``tmp_path/data`` and an out folder holding ``saved`` points."""
    data = tmp_path / "data" / name
    data.mkdir(parents=True)
    (data / "train.txt").write_text("".join(f"images/{i}.png\tA{i}\n" for i in range(400)))
    out = tmp_path / "out"
    out.mkdir()
    if saved is not None:
        (out / f"{name}.json").write_text(json.dumps(saved))
    return out


def _record_oracles(monkeypatch, label_curve, calls: list) -> None:
    """Replace the benchmark run by one that records which point lent its oracle and trains one when none did."""
    def run_dataset(name, *a, oracle_from=None, **k):
        calls.append((name, oracle_from and oracle_from["labels"]))
        oracle = {"converged": True} if oracle_from is None else {"taken_from": f"captcha {oracle_from['labels']}"}
        return {"dataset": name, "oracle": oracle, "test": {"small oracle": {"acc": 0.99}}}

    monkeypatch.setattr(label_curve, "make_subset", lambda *a, **k: None)
    monkeypatch.setattr(label_curve, "run_dataset", run_dataset)


def test_label_curve_keeps_the_points_of_earlier_runs(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    import label_curve

    earlier = [{"dataset": "wire_markers_50", "labels": 50, "run": "old"},
               {"dataset": "wire_markers_307", "labels": 307, "run": "old"}]
    out = _curve_dirs(tmp_path, "wire_markers", earlier)
    monkeypatch.setattr(label_curve, "make_subset", lambda *a, **k: None)
    monkeypatch.setattr(label_curve, "run_dataset", lambda name, *a, **k: {"dataset": name, "run": "new"})
    results = label_curve.run_curve("wire_markers", tmp_path / "data", [100, 307, 500], "cpu", out, 0, [], [3e-4])
    saved = json.loads((out / "wire_markers.json").read_text())
    assert saved == results
    assert [(r["labels"], r["run"], r["dataset"]) for r in saved] == [
        (50, "old", "wire_markers"), (100, "new", "wire_markers"), (307, "new", "wire_markers")]  # 500 > 400 lines


def test_label_curve_keeps_a_point_saved_by_another_call_meanwhile(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    import label_curve

    out = _curve_dirs(tmp_path, "wire_markers", [{"dataset": "wire_markers", "labels": 50, "run": "old"}])

    def run_dataset(name, *a, **k):  # meanwhile another call lands its 300-line point and corrects the 50's
        (out / "wire_markers.json").write_text(json.dumps([{"dataset": "wire_markers", "labels": 50, "run": "edited"},
                                                           {"dataset": "wire_markers", "labels": 300, "run": "other"}]))
        return {"dataset": name, "run": "new"}

    monkeypatch.setattr(label_curve, "make_subset", lambda *a, **k: None)
    monkeypatch.setattr(label_curve, "run_dataset", run_dataset)
    label_curve.run_curve("wire_markers", tmp_path / "data", [100], "cpu", out, 0, [], [3e-4])
    saved = json.loads((out / "wire_markers.json").read_text())
    assert [(r["labels"], r["run"]) for r in saved] == [(50, "edited"), (100, "new"), (300, "other")]


def test_a_later_size_takes_over_the_trained_oracle_instead_of_training_it(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    import label_curve
    import ssl_gain

    oracle_test = {"acc": 0.848, "norm_edit": 0.949, "cer": 0.049, "n": 656}
    trained = {"dataset": "wire_markers_307", "labels": 307, "preset": "cpu",
               "oracle": {"improved": True, "converged": True, "max_epochs": 14},
               "test": {"small oracle": oracle_test}, "test_both_ways": {"small oracle": oracle_test | {"acc": 0.9}}}
    taken = {**trained, "labels": 50, "oracle": {**trained["oracle"], "taken_from": "wire_markers 307"}}
    (tmp_path / "wire_markers.json").write_text(json.dumps([taken, trained]))
    earlier = label_curve.oracle_point(tmp_path / "wire_markers.json", "wire_markers")
    assert earlier["labels"] == 307  # the point that trained its oracle, not one that took it over
    with pytest.raises(SystemExit, match="no point of captcha with a trained oracle"):
        label_curve.oracle_point(tmp_path / "wire_markers.json", "captcha")

    run = tmp_path / "runs" / "wire_markers_100" / "joint"
    run.mkdir(parents=True)
    (run / "small_best.pt").write_bytes(b"w")

    def never(*a, **k):
        raise AssertionError("the oracle must not be trained again")

    monkeypatch.setattr(ssl_gain, "run_lmssl", lambda cfg: type("R", (), {"summary": {}})())
    monkeypatch.setattr(ssl_gain, "_config", lambda *a: type("C", (), {"output_dir": str(run)})())
    monkeypatch.setattr(ssl_gain, "_supervised", lambda *a: (None, {"sound": True}))
    monkeypatch.setattr(ssl_gain, "_oracle", never)
    monkeypatch.setattr(ssl_gain, "warmup_weights", lambda *a: None)
    monkeypatch.setattr(ssl_gain, "_pseudo_precision", lambda *a: {})
    measured = {"acc": 0.8, "n": 656}
    monkeypatch.setattr(ssl_gain, "_test_all", lambda models, *a: tuple({k: measured for k in models} for _ in "ab"))
    res = ssl_gain.run_dataset("wire_markers_100", tmp_path / "data", "cpu", tmp_path / "runs", 0,
                               oracle_from=earlier)
    assert res["test"]["small oracle"] == oracle_test and res["test_both_ways"]["small oracle"]["acc"] == 0.9
    assert res["test"]["small distilled (joint)"] == measured
    assert res["oracle"]["taken_from"] == "wire_markers 307" and res["oracle"]["converged"]
    with pytest.raises(ValueError, match="its preset 'cpu' is not 'joint'"):
        ssl_gain.run_dataset("wire_markers_100", tmp_path / "data", "joint", tmp_path / "runs", 0,
                             oracle_from=earlier)


def test_label_curve_trains_the_oracle_once_and_keeps_a_copy_of_every_point(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    import label_curve

    _curve_dirs(tmp_path, "captcha")
    calls = []
    _record_oracles(monkeypatch, label_curve, calls)
    keep = tmp_path / "results"
    label_curve.run_curve("captcha", tmp_path / "data", [50, 100, 300], "cpu", tmp_path / "out", 0, [], [3e-4],
                          keep=keep)
    assert calls == [("captcha_50", None), ("captcha_100", 50), ("captcha_300", 50)]
    kept = json.loads((keep / "label_curve_captcha.json").read_text())
    assert [r["labels"] for r in kept] == [50, 100, 300]
    assert kept == json.loads((tmp_path / "out" / "captcha.json").read_text())


def test_a_later_call_takes_over_the_oracle_saved_in_the_same_out(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    import label_curve

    trained = {"dataset": "captcha", "labels": 50, "oracle": {"converged": True},
               "test": {"small oracle": {"acc": 0.99}}}
    out = _curve_dirs(tmp_path, "captcha", [trained])
    calls = []
    _record_oracles(monkeypatch, label_curve, calls)
    results = label_curve.run_curve("captcha", tmp_path / "data", [100, 50, 300], "cpu", out, 0, [], [3e-4])
    # 100 and 300 take over the saved 50-point's oracle; 50, run again, keeps training (reusing) its own
    assert calls == [("captcha_100", 50), ("captcha_50", None), ("captcha_300", 50)]
    assert [r["labels"] for r in results] == [50, 100, 300]


def test_batch_cost_pads_every_batch_to_its_widest_line_and_at_least_320(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    from batch_cost import padded_widths

    ratios = [2.0] * 60 + [12.0] * 4  # 96-px lines and four 576-px ones
    sampled = padded_widths(ratios, 0, 8, 0.0, bucket=False, max_width=960)
    assert len(sampled) == 8 and min(sampled) == 320 and max(sampled) == 576
    bucketed = padded_widths(ratios, 0, 8, 0.0, bucket=True, max_width=960)
    assert sorted(bucketed) == [320] * 7 + [576]  # the four wide lines share one batch
    assert max(padded_widths(ratios, 0, 8, 0.0, bucket=False, max_width=480)) == 480
