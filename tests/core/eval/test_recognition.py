import csv

import numpy as np
import pytest
from synthetic_lines import render_line

from semiocr.core.eval.recognition import (
    draw_worst_errors,
    rec_metrics,
    sample_results,
    worst_errors,
    write_csv,
)
from semiocr.runtime.ctc import Decoded


def test_rec_metrics_values():
    m = rec_metrics(["abc", "Abc", "a bc", "xyz"], ["abc", "abc", "abc", "abz"])
    assert m["acc"] == 0.25 and m["acc_caseless"] == 0.5 and m["acc_nospace"] == 0.5
    # NED: 0, 1/3, 1/4, 2/3
    assert m["norm_edit"] == pytest.approx(1 - (0 + 1 / 3 + 1 / 4 + 2 / 3) / 4)
    assert m["cer"] == pytest.approx((0 + 1 + 1 + 2) / 12)
    assert m["n"] == 4
    with pytest.raises(ValueError):
        rec_metrics(["a"], [])


def test_csv_and_worst_errors_picture(tmp_path):
    paths = []
    for i, t in enumerate(["12", "345", "6"]):
        p = tmp_path / f"{i}.png"
        import cv2

        cv2.imwrite(str(p), render_line(t, np.random.default_rng(i)))
        paths.append(str(p))
    decoded = [Decoded("12", 0.9, (0.9, 0.9), (1, 3)), Decoded("3", 0.8, (0.8,), (2,)),
               Decoded("0", 0.99, (0.99,), (1,))]
    rows = sample_results(paths, ["12", "345", "6"], decoded)
    assert [r.image for r in worst_errors(rows)] == [paths[1], paths[2]]
    out = write_csv(rows, tmp_path / "pred.csv")
    table = list(csv.DictReader(out.open(encoding="utf-8")))
    assert table[1] == {"image": paths[1], "truth": "345", "prediction": "3", "confidence": "0.8000",
                        "correct": "0", "edit_distance": "2"}
    pic = draw_worst_errors(rows, tmp_path / "worst.png")
    assert pic is not None and pic.stat().st_size > 1000
    assert draw_worst_errors(rows[:1], tmp_path / "none.png") is None
