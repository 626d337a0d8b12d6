import json

import pytest
from data_helpers import make_dataset, write_png

from semiocr.core.data.detection import read_det_labels
from semiocr.core.data.gendict import generate_dict
from semiocr.core.data.importers import import_det_labels, import_ppocrlabel_rec
from semiocr.core.data.labels import DatasetError, read_labelled
from semiocr.core.data.validate import CheckOptions, validate_dataset
from semiocr.runtime.charset import Charset

NO_RARE_CHECK = CheckOptions(min_train_lines_per_char=0)  # 4 train lines: most characters are rare


def _ppocrlabel_rec(src, split_files=True):
    for i in range(6):
        write_png(src / "crop_img" / f"img{i}_crop_0.jpg", value=100 + 20 * i)
    rows = [f"crop_img/img{i}_crop_0.jpg\t{t}" for i, t in enumerate(["AB 1", "C2", "é3", "D4", "E5", "F6"])]
    if split_files:
        (src / "rec_gt_train.txt").write_text("\n".join(rows[:4]) + "\n", encoding="utf-8")
        (src / "rec_gt_test.txt").write_text("\n".join(rows[4:]) + "\n", encoding="utf-8")
    else:
        (src / "rec_gt.txt").write_text("\n".join(rows) + "\n", encoding="utf-8")


def test_import_ppocrlabel_rec_with_splits_and_pool(tmp_path):
    src, out = tmp_path / "ppocr", tmp_path / "ds"
    _ppocrlabel_rec(src)
    for i in range(3):
        write_png(tmp_path / "pool" / "sub" / f"u{i}.png", value=30 + i)
    res = import_ppocrlabel_rec(src, out, unlabeled_dir=tmp_path / "pool")
    assert res.counts == {"train": 4, "val": 2, "unlabeled": 3, "dict": 13}
    assert [s.text for s in read_labelled(out, "train.txt")] == ["AB 1", "C2", "é3", "D4"]
    assert Charset.from_file(out / "dict.txt").chars == tuple("123456ABCDEFé")
    rep = validate_dataset(out, NO_RARE_CHECK)
    assert rep.ok and rep.issues == [], rep.summary()
    assert (src / "rec_gt_train.txt").is_file() and (src / "crop_img" / "img0_crop_0.jpg").is_file()


def test_import_rec_gt_split_is_seeded(tmp_path):
    src = tmp_path / "ppocr"
    _ppocrlabel_rec(src, split_files=False)
    a = import_ppocrlabel_rec(src, tmp_path / "a", val_fraction=0.34, seed=3)
    import_ppocrlabel_rec(src, tmp_path / "b", val_fraction=0.34, seed=3)
    assert a.counts["train"] == 4 and a.counts["val"] == 2
    assert (tmp_path / "a/val.txt").read_text() == (tmp_path / "b/val.txt").read_text()
    rep = validate_dataset(tmp_path / "a", NO_RARE_CHECK)
    assert rep.ok and {i.code for i in rep.issues} == {"empty_pool"}  # no pool: a warning only


def test_import_rec_errors_name_line_and_write_nothing(tmp_path):
    src, out = tmp_path / "ppocr", tmp_path / "ds"
    _ppocrlabel_rec(src)
    with open(src / "rec_gt_train.txt", "a", encoding="utf-8") as f:
        f.write("crop_img/missing.jpg\tX\n")
    with pytest.raises(DatasetError, match=r"rec_gt_train.txt:5: image 'crop_img/missing.jpg' not found"):
        import_ppocrlabel_rec(src, out)
    assert not out.exists()


def test_import_det_labels_ppocrlabel_layout(tmp_path):
    src = tmp_path / "proj" / "shots"
    regs = [{"transcription": "Hi", "points": [[1, 1], [30, 1], [30, 10], [1, 10]], "difficult": False},
            {"transcription": "x", "points": [[2, 2], [5, 2], [5, 5]], "difficult": True}]
    lines = []
    for i in range(4):
        write_png(src / f"p{i}.jpg", w=40, h=20)
        lines.append(f"shots/p{i}.jpg\t{json.dumps(regs)}")
    (src / "Label.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = make_dataset(tmp_path / "ds")  # detection is added beside an existing recognition dataset
    res = import_det_labels(src / "Label.txt", out, val_fraction=0.25, seed=0)
    assert res.counts == {"det_train": 3, "det_train_regions": 6, "det_val": 1, "det_val_regions": 2}
    samples = read_det_labels(out, "det_train.txt")
    assert samples[0].ignore == [False, True] and samples[0].texts == ["Hi", "x"]
    rep = validate_dataset(out)
    assert rep.ok and rep.counts["det_train"] == 3, rep.summary()
    with pytest.raises(DatasetError, match="det_train.txt: already exists"):
        import_det_labels(src / "Label.txt", out)


def test_gen_dict(tmp_path):
    root = make_dataset(tmp_path)
    (root / "dict.txt").unlink()
    with open(root / "val.txt", "a", encoding="utf-8") as f:
        f.write("images/val_0.png\tzé\n")
    cs, path = generate_dict(root)
    assert cs.chars == ("a", "b", "c", "z", "é") and path == root / "dict.txt"
    assert Charset.from_file(path) == cs
    with pytest.raises(FileExistsError):
        generate_dict(root)
    cs2, _ = generate_dict(root, use_space=False, base=Charset(("z", "q")), overwrite=True)
    assert cs2.chars == ("z", "q", " ", "a", "b", "c", "é")
