import json
import os

import cv2
import numpy as np
import pytest
from data_helpers import make_dataset, png_bomb_bytes, write_png

from semiocr.core.data.validate import CheckOptions, ctc_frames_needed, frames_available, validate_dataset


def _codes(rep, level="error"):
    return {(i.code, i.where.rsplit("/", 1)[-1]) for i in rep.issues if i.level == level}


def _append(root, name, line):
    with open(root / name, "a", encoding="utf-8") as f:
        f.write(line + "\n")


def test_valid_dataset_passes_with_stats(tmp_path):
    root = make_dataset(tmp_path)
    rep = validate_dataset(root)
    assert rep.ok, rep.summary()
    assert rep.issues == []  # the space in "ab a" is the model's space option, not a missing character
    assert rep.counts["train"] == 3 and rep.counts["val"] == 2 and rep.counts["unlabeled"] == 2
    assert rep.counts["dict"] == 3 and rep.counts["images_checked"] == 7
    stats = rep.stats()
    assert stats["label_length"]["counts"] == [5] and stats["char_freq"]["a"] == 7
    assert stats["aspect_ratio"]["min"] == pytest.approx(4.0)
    js = json.loads(rep.write_json(tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert js["ok"] is True and js["stats"]["counts"]["train"] == 3
    for p in rep.write_plots(tmp_path / "out"):
        assert p.suffix == ".png" and cv2.imread(str(p)) is not None


def test_space_is_missing_without_space_option(tmp_path):
    rep = validate_dataset(make_dataset(tmp_path), CheckOptions(use_space=False))
    [err] = rep.errors
    assert err.code == "char_not_in_dict" and err.where.endswith("train.txt:1") and "' ' (U+0020)" in err.message


@pytest.mark.parametrize(("mutate", "code", "where"), [
    (lambda r: _append(r, "train.txt", "images/train_0.png ab"), "tab", "train.txt:4"),
    (lambda r: _append(r, "train.txt", "images/gone.png\tab"), "image_missing", "train.txt:4"),
    (lambda r: _append(r, "train.txt", "../outside.png\tab"), "path", "train.txt:4"),
    (lambda r: (os.symlink(r.parent, r / "out"), _append(r, "train.txt", "out/x.png\tab")), "path", "train.txt:4"),
    (lambda r: _append(r, "val.txt", "/etc/passwd\tab"), "path", "val.txt:3"),
    (lambda r: _append(r, "train.txt", "images/train_0.png\tabé"), "char_not_in_dict", "train.txt:4"),
    (lambda r: _append(r, "train.txt", "images/train_1.png\t "), "empty_label", "train.txt:4"),
    (lambda r: (r / "train.txt").write_text("", encoding="utf-8"), "empty_file", "train.txt"),
    (lambda r: (r / "train.txt").write_bytes(b"images/train_0.png\tab\nimages/train_1.png\t\xff\n"),
     "encoding", "train.txt:2"),
    (lambda r: _append(r, "val.txt", "images/train_0.png\tab"), "overlap_train_val", "val.txt:3"),
    (lambda r: (r / "dict.txt").write_text("a\nb\na\n", encoding="utf-8"), "dict", "dict.txt"),
    (lambda r: (r / "train_unlabeled.txt").unlink(), "missing_file", "train_unlabeled.txt"),
])
def test_each_bad_input_is_an_error_naming_file_and_line(tmp_path, mutate, code, where):
    root = make_dataset(tmp_path)
    mutate(root)
    rep = validate_dataset(root)
    assert not rep.ok
    assert (code, where) in _codes(rep), rep.summary()


def test_bad_images_truncated_bomb_zero_size(tmp_path):
    root = make_dataset(tmp_path)
    ok, buf = cv2.imencode(".jpg", np.random.default_rng(1).integers(0, 255, (32, 96, 3), dtype=np.uint8))
    (root / "images/trunc.jpg").write_bytes(buf.tobytes()[:300])
    (root / "images/bomb.png").write_bytes(png_bomb_bytes())
    (root / "images/zero.png").write_bytes(b"")
    for name in ("trunc.jpg", "bomb.png", "zero.png"):
        _append(root, "train.txt", f"images/{name}\tab")
    rep = validate_dataset(root)
    errs = {i.where.rsplit("/", 1)[-1]: i.message for i in rep.errors if i.code == "image_bad"}
    assert set(errs) == {"train.txt:4", "train.txt:5", "train.txt:6"}
    assert "truncated" in errs["train.txt:4"].lower()
    assert "decompression bomb" in errs["train.txt:5"]
    assert "empty" in errs["train.txt:6"]


def test_warnings_do_not_block(tmp_path):
    root = make_dataset(tmp_path)
    raw = (root / "val.txt").read_bytes()
    (root / "val.txt").write_bytes(b"\xef\xbb\xbf" + raw.replace(b"\n", b"\r\n"))
    _append(root, "train.txt", "images/train_0.png\tab")  # same image listed twice
    cv2.imwrite(str(root / "images/gray.png"), np.full((16, 64), 120, np.uint8))
    _append(root, "train.txt", "images/gray.png\t ab ")
    _append(root, "train_unlabeled.txt", "images/val_0.png")
    write_png(root / "images/val_copy.png", value=150)  # byte-identical to train_0.png
    _append(root, "val.txt", "images/val_copy.png\tab")
    _append(root, "train.txt", "images/train_1.png\t" + "ab" * 13)
    _append(root, "val.txt", "images/val_1.png\tabc\u0301")  # c + combining acute: not NFC
    _append(root, "val.txt", "images/val_1.png\ta\u00a0b\u200b")  # no-break space, zero-width space
    _append(root, "dict.txt", "\u0301\n\u00a0\n\u200b")
    rep = validate_dataset(root)
    assert rep.ok, rep.summary()
    warned = {c for c, _ in _codes(rep, "warning")}
    assert warned == {"bom", "crlf", "duplicate", "image_grayscale", "whitespace", "overlap_val_unlabeled",
                      "overlap_content", "label_too_long", "not_nfc", "invisible_char", "rare_in_train"}


def test_characters_of_val_rare_in_train_are_named_with_counts(tmp_path):
    root = make_dataset(tmp_path)
    (root / "dict.txt").write_text("a\nb\nc\nO\n", encoding="utf-8")
    _append(root, "train.txt", "images/train_1.png\tOa")
    _append(root, "val.txt", "images/val_0.png\tbO")
    _append(root, "val.txt", "images/val_1.png\tOO")
    rep = validate_dataset(root)
    assert rep.ok, rep.summary()
    rare = [i for i in rep.issues if i.code == "rare_in_train"]
    assert len(rare) == 1 and rare[0].level == "warning"
    assert rare[0].where.endswith("val.txt:3")  # the first val line holding it
    msg = rare[0].message
    assert "'O'" in msg and "2 lines of val.txt" in msg and "only 1 of train.txt" in msg
    assert not [i for i in validate_dataset(root, CheckOptions(min_train_lines_per_char=1)).issues
                if i.code == "rare_in_train"]


def test_ctc_frames():
    assert ctc_frames_needed("abc") == 3 and ctc_frames_needed("aab") == 4 and ctc_frames_needed("aaa") == 5
    opt = CheckOptions()
    assert frames_available(64, 48, opt) == 40  # padded to the 320 minimum width
    assert frames_available(960, 48, opt) == 120


def test_label_exceeding_frames_is_an_error(tmp_path):
    root = make_dataset(tmp_path)
    _append(root, "train.txt", "images/train_0.png\t" + "ab" * 21)  # 42 > 40 frames of a 64x16 image
    rep = validate_dataset(root, CheckOptions(max_text_length=100))
    assert ("label_exceeds_frames", "train.txt:4") in _codes(rep)


def test_detection_only_dataset(tmp_path):
    write_png(tmp_path / "images/p.png", w=40, h=20)
    box = '[{"transcription": "ab", "points": [[1, 1], [30, 1], [30, 10], [1, 10]]}]'
    (tmp_path / "det_train.txt").write_text(f"images/p.png\t{box}\nimages/q.png\t{box}\n", encoding="utf-8")
    rep = validate_dataset(tmp_path, CheckOptions(recognition=False))
    assert [(i.code, i.where.rsplit("/", 1)[-1]) for i in rep.errors] == [("image_missing", "det_train.txt:2")]
    assert rep.counts["det_train"] == 2 and rep.counts["det_train_regions"] == 2
    assert not validate_dataset(tmp_path / "images", CheckOptions(recognition=False)).ok
