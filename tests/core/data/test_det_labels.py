import json

import numpy as np
import pytest

from semiocr.core.data.detection import check_det_labels, read_det_labels
from semiocr.core.data.labels import DatasetError
from semiocr.runtime.geometry import polygon_area_perimeter


def _line(path, regions):
    return f"{path}\t{json.dumps(regions, ensure_ascii=False)}\n"


def test_reads_polygons_texts_and_ignore(tmp_path):
    regs = [{"transcription": "Ceci", "points": [[0, 0], [10, 0], [10, 5], [0, 5]]},
            {"transcription": "###", "points": [[1, 1], [4, 1], [4, 3]]},
            {"transcription": "x", "points": [[0, 0], [2, 0], [2, 2], [0, 2]], "difficult": True}]
    (tmp_path / "Label.txt").write_text(_line("images/p.jpg", regs), encoding="utf-8")
    [s] = read_det_labels(tmp_path, "Label.txt")
    assert s.path == (tmp_path / "images/p.jpg").resolve()
    assert s.texts == ["Ceci", "###", "x"]
    assert s.ignore == [False, True, True]
    assert s.polygons[0].shape == (4, 2) and s.polygons[0].dtype == np.float32
    assert s.polygons[1].shape == (3, 2)
    assert polygon_area_perimeter(s.polygons[0]) == pytest.approx((50.0, 30.0))
    assert s.source.endswith("Label.txt:1")


@pytest.mark.parametrize(("line", "message"), [
    ("images/a.jpg [{}]", "exactly one TAB"),
    ("images/a.jpg\t[{\"transcription\": \"a\"", "not valid JSON"),
    ("images/a.jpg\t{\"a\": 1}", "JSON list"),
    ("images/a.jpg\t[{\"transcription\": \"a\"}]", "region 1 must be an object with 'points'"),
    ("images/a.jpg\t[{\"transcription\": \"a\", \"points\": [[0, 0], [1, 1]]}]", "at least 3"),
    ("images/a.jpg\t[{\"transcription\": \"a\", \"points\": [[0, 0, 1], [1, 1, 1], [2, 2, 2]]}]", "shape"),
    ("../a.jpg\t[]", "contains '..'"),
])
def test_bad_lines_raise_with_file_and_line(tmp_path, line, message):
    (tmp_path / "Label.txt").write_text("images/ok.jpg\t[]\n" + line + "\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"Label.txt:2: .*" + message):
        read_det_labels(tmp_path, "Label.txt")


def test_check_collects_all_problems(tmp_path):
    good = {"transcription": "a", "points": [[0, 0], [10, 0], [10, 5], [0, 5]]}
    flat = {"transcription": "", "points": [[0, 0], [10, 0], [20, 0]]}
    outside = {"transcription": "b", "points": [[0, 0], [100, 0], [100, 5], [0, 5]]}
    text = _line("images/a.jpg", [good]) + "bad line\n" + _line("images/b.jpg", [flat, outside]) \
        + _line("images/a.jpg", [good])
    (tmp_path / "det.txt").write_text(text, encoding="utf-8")
    sizes = {(tmp_path / "images/b.jpg").resolve(): (50, 20)}
    res = check_det_labels(tmp_path, "det.txt", image_size=sizes)
    assert len(res.samples) == 3
    assert [w for w, _ in res.errors] == [f"{tmp_path / 'det.txt'}:2"]
    msgs = " | ".join(m for _, m in res.warnings)
    assert "zero area" in msgs and "empty transcription" in msgs and "outside the 50x20 image" in msgs
    assert "listed again" in msgs
