import json

import pytest
from typer.testing import CliRunner

from semiocr.cli.main import app
from semiocr.core.data.synth import SynthConfig, generate_dataset

runner = CliRunner()


@pytest.fixture
def home(platform_db, user_env, fresh_home):
    return fresh_home


def _run(*args):
    return runner.invoke(app, ["dataset", *map(str, args)])


def test_synth_check_add_list_show_remove(tmp_path, home):
    ds = tmp_path / "ds"
    r = _run("synth", ds, "--train", 5, "--val", 3, "--test", 1, "--unlabeled", 4, "--pages-train", 1,
             "--pages-val", 1, "--seed", 2)
    assert r.exit_code == 0, r.output
    r = _run("check", ds, "--out", tmp_path / "rep")
    assert r.exit_code == 0 and "OK" in r.output, r.output
    assert "rare_in_train" in r.output  # 5 train lines: characters of val.txt that train.txt barely holds
    assert "rare_in_train" not in _run("check", ds, "--rare-below", 0).output
    report = json.loads((tmp_path / "rep" / "report.json").read_text(encoding="utf-8"))
    assert report["stats"]["counts"]["train"] == 5 and report["stats"]["counts"]["det_train"] == 1
    assert sorted(p.name for p in (tmp_path / "rep").glob("*.png")) == ["aspect_ratio.png", "char_freq.png",
                                                                       "label_length.png"]
    r = _run("add", ds, "--name", "demo")
    assert r.exit_code == 0 and "stored demo:v1" in r.output, r.output
    assert "unchanged" in _run("add", ds, "--name", "demo").output
    r = _run("list")
    assert r.exit_code == 0 and "demo" in r.output and "v1" in r.output
    r = _run("show", "demo:v1")
    assert r.exit_code == 0 and str(home / "datasets" / "alice" / "demo" / "v1") in r.output.replace("\n", "")
    r = _run("remove", "demo", "--yes")
    assert r.exit_code == 0 and "removed demo:v1" in r.output
    assert _run("show", "demo").exit_code == 1


def test_check_fails_with_file_and_line_and_add_stores_nothing(tmp_path, home):
    ds = generate_dataset(tmp_path / "ds", SynthConfig(n_train=3, n_val=2, n_test=1, n_unlabeled=2))
    with open(ds / "train.txt", "a", encoding="utf-8") as f:
        f.write("images/lines/missing.jpg\tAB\nimages/lines/val_00000.jpg AB\n")
    r = _run("check", ds, "--json", tmp_path / "r.json")
    assert r.exit_code == 1
    assert "train.txt:4: image 'images/lines/missing.jpg' not found" in r.output.replace("\n", "")
    assert "train.txt:5: expected exactly one TAB" in r.output.replace("\n", "")
    assert json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["ok"] is False
    r = _run("add", ds, "--name", "bad")
    assert r.exit_code == 1 and "nothing was stored" in r.output
    assert not (home / "datasets" / "alice" / "bad").exists()


def test_gen_dict_and_import_cli(tmp_path, home):
    ds = generate_dataset(tmp_path / "ds", SynthConfig(n_train=3, n_val=2, n_test=1, n_unlabeled=2))
    r = _run("gen-dict", ds)
    assert r.exit_code == 1 and "already exists" in r.output
    r = _run("gen-dict", ds, "--out", tmp_path / "d.txt")
    assert r.exit_code == 0 and (tmp_path / "d.txt").is_file()
    src = tmp_path / "ppocr"
    (src / "crop_img").mkdir(parents=True)
    rows = []
    for i, line in enumerate((ds / "train.txt").read_text(encoding="utf-8").splitlines()):
        rel, text = line.split("\t")
        (src / "crop_img" / f"c{i}.jpg").write_bytes((ds / rel).read_bytes())
        rows.append(f"crop_img/c{i}.jpg\t{text}")
    (src / "rec_gt.txt").write_text("\n".join(rows) + "\n", encoding="utf-8")
    r = _run("import-ppocrlabel", src, tmp_path / "imported", "--val-fraction", 0.34,
             "--unlabeled", ds / "images" / "lines")
    assert r.exit_code == 0 and "train=2, val=1" in r.output, r.output
    r = _run("import-ppocrlabel", tmp_path / "nowhere", tmp_path / "x")
    assert r.exit_code == 1 and "no rec_gt_train.txt or rec_gt.txt" in r.output


def test_import_det_cli(tmp_path, home):
    ds = generate_dataset(tmp_path / "ds", SynthConfig(n_train=2, n_val=1, n_test=1, n_unlabeled=1, pages_train=3,
                                                       pages_val=1))
    label = tmp_path / "Label.txt"
    label.write_text((ds / "det_train.txt").read_text(encoding="utf-8"), encoding="utf-8")  # paths from ds/
    r = _run("import-det", label, tmp_path / "det", "--val-fraction", 0.34)
    assert r.exit_code == 1 and "not found" in r.output  # images are looked up beside the label file
    label.unlink()
    (ds / "Label.txt").write_text((ds / "det_train.txt").read_text(encoding="utf-8"), encoding="utf-8")
    r = _run("import-det", ds / "Label.txt", tmp_path / "det", "--val-fraction", 0.34)
    assert r.exit_code == 0 and "det_train=2" in r.output and "det_val=1" in r.output and "OK" in r.output, r.output
    assert _run("check", tmp_path / "det", "--det-only").exit_code == 0
    assert _run("check", tmp_path / "det").exit_code == 1  # not a recognition dataset
