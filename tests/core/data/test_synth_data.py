import hashlib

import numpy as np

from semiocr.core.data.detection import read_det_labels
from semiocr.core.data.images import read_image
from semiocr.core.data.labels import read_labelled, read_unlabelled
from semiocr.core.data.synth import SynthConfig, font_names, generate_dataset, render_line
from semiocr.core.data.validate import CheckOptions, validate_dataset
from semiocr.runtime.charset import Charset

CFG = SynthConfig(n_train=8, n_val=4, n_test=2, n_unlabeled=6, pages_train=2, pages_val=1, seed=11)


def _digest(root):
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(p.relative_to(root).as_posix().encode() + p.read_bytes())
    return h.hexdigest()


def test_generated_dataset_is_valid_and_deterministic(tmp_path):
    a = generate_dataset(tmp_path / "a", CFG)
    rep = validate_dataset(a, CheckOptions(min_train_lines_per_char=0))  # 8 train lines: most characters are rare
    assert rep.ok and rep.issues == [], rep.summary()
    assert rep.counts["train"] == 8 and rep.counts["unlabeled"] == 6 and rep.counts["det_train"] == 2
    assert len(read_labelled(a, "test.txt")) == 2 and len(read_unlabelled(a)) == 6
    truth = (a / "unlabeled_truth.txt").read_text(encoding="utf-8").splitlines()
    assert [t.split("\t")[0] for t in truth] == (a / "train_unlabeled.txt").read_text().split()
    charset = Charset.from_file(a / "dict.txt")
    assert all(not charset.missing(s.text) for s in read_labelled(a, "train.txt"))
    pages = read_det_labels(a, "det_train.txt")
    img = read_image(pages[0].path)
    for poly in pages[0].polygons:
        assert (poly >= 0).all() and (poly[:, 0] < img.shape[1]).all() and (poly[:, 1] < img.shape[0]).all()
    assert _digest(a) == _digest(generate_dataset(tmp_path / "b", CFG))
    other = generate_dataset(tmp_path / "c", SynthConfig(**{**CFG.__dict__, "seed": 12}))
    assert _digest(a) != _digest(other)


def test_render_line_is_text_like():
    rng = np.random.default_rng(0)
    img = render_line("AB12", rng)
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3
    assert 20 <= img.shape[0] <= 80 and img.shape[1] > img.shape[0]
    assert img.std() > 10  # text strokes contrast with the background
    assert len(font_names()) >= 4
