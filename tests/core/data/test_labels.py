import os

import pytest

from semiocr.core.data.labels import DatasetError, read_labelled, read_unlabelled


def _write(root, name, content):
    (root / name).write_text(content, encoding="utf-8")


def test_reads_labelled_and_unlabelled(tmp_path):
    (tmp_path / "images").mkdir()
    _write(tmp_path, "train.txt", "images/a.png\tAB 1\r\nimages/b.png\tC\n\n")
    _write(tmp_path, "train_unlabeled.txt", "images/c.png\n")
    samples = read_labelled(tmp_path, "train.txt")
    assert [s.text for s in samples] == ["AB 1", "C"]
    assert samples[0].path == (tmp_path / "images/a.png").resolve()
    assert samples[1].source.endswith("train.txt:2")
    assert read_unlabelled(tmp_path)[0].text is None


@pytest.mark.parametrize(("line", "message"), [
    ("images/a.png AB", r"train.txt:1: expected exactly one TAB"),
    ("images/a.png\tA\tB", r"train.txt:1: expected exactly one TAB"),
    ("../x.png\tA", r"train.txt:1: path '../x.png' contains '..'"),
    ("/etc/passwd\tA", r"train.txt:1: path '/etc/passwd' is absolute"),
])
def test_bad_lines_name_file_and_line(tmp_path, line, message):
    _write(tmp_path, "train.txt", line + "\n")
    with pytest.raises(DatasetError, match=message):
        read_labelled(tmp_path, "train.txt")


def test_symlink_escaping_dataset_rejected(tmp_path):
    root = tmp_path / "ds"
    root.mkdir()
    os.symlink(tmp_path, root / "out")
    _write(root, "train.txt", "out/x.png\tA\n")
    with pytest.raises(DatasetError, match="outside the dataset"):
        read_labelled(root, "train.txt")


def test_missing_empty_and_non_utf8(tmp_path):
    with pytest.raises(DatasetError, match="train.txt: required file is missing"):
        read_labelled(tmp_path, "train.txt")
    _write(tmp_path, "train.txt", "\n")
    with pytest.raises(DatasetError, match="train.txt: no labelled lines"):
        read_labelled(tmp_path, "train.txt")
    (tmp_path / "train.txt").write_bytes(b"a.png\tok\nb.png\t\xe9\n")
    with pytest.raises(DatasetError, match=r"train.txt:2: not valid UTF-8"):
        read_labelled(tmp_path, "train.txt")
