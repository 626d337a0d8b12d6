from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from semiocr.core.data.labels import read_labelled
from semiocr.core.ssl import pseudo_label as pl
from semiocr.runtime.charset import Charset


class _Fixed(nn.Module):
    """Emits, for every image, frames spelling the digit equal to its width bucket (a deterministic 'reader')."""

    def __init__(self, charset: Charset):
        super().__init__()
        self.charset = charset
        self.head = nn.Module()
        self.head.fc = nn.Linear(1, charset.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, t = x.shape[0], x.shape[-1] // 8
        logits = torch.full((n, t, self.charset.num_classes), -5.0)
        logits[:, :, 0] = 5.0  # blank everywhere ...
        content = (x[:, 0, 0, :] != 0).sum(dim=1)  # ... except frame 1 reads the content width bucket
        for i in range(n):
            logits[i, 1, 0] = -5.0
            logits[i, 1, self.charset.index(str(int(content[i]) // 100 % 10))] = 2.0 + i
        return logits


def test_predict_keeps_input_order_and_batches_by_width(tmp_path: Path):
    import cv2

    cs = Charset(tuple("0123456789"), use_space=False)
    paths = []
    for i, w in enumerate([150, 30, 110, 220]):  # content widths 48*w/48 → buckets 1, 0, 1, 2
        p = tmp_path / f"{i}.png"
        cv2.imwrite(str(p), np.full((48, w, 3), 255, np.uint8))
        paths.append(p)
    out = pl.predict(_Fixed(cs), paths, cs, batch_size=2)
    assert [o.path for o in out] == paths
    assert [o.text for o in out] == ["1", "0", "1", "2"]
    assert all(0 < o.confidence <= 1 for o in out)


class _ReadsDarkLeft(_Fixed):
    """Reads "7" at confidence ~1 when the left quarter of the line is darker than the right quarter, else "1"
    with a low confidence: an 'upright-only' reader."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, t = x.shape[0], x.shape[-1] // 8
        logits = torch.full((n, t, self.charset.num_classes), -9.0)
        logits[:, :, 0] = 9.0
        q = 40  # the content starts at the left; padding follows, so compare the first two 40 px strips
        upright = x[:, :, :, :q].mean(dim=(1, 2, 3)) < x[:, :, :, q:2 * q].mean(dim=(1, 2, 3))
        for i in range(n):
            logits[i, 1, :] = 0.0 if not upright[i] else -9.0  # unsure: "1" barely above the rest
            logits[i, 1, self.charset.index("7" if upright[i] else "1")] = 9.0 if upright[i] else 0.5
        return logits


def test_predict_rotate_180_keeps_the_more_confident_orientation(tmp_path: Path):
    import cv2

    cs = Charset(tuple("0123456789"), use_space=False)
    line = np.full((48, 80, 3), 255, np.uint8)
    line[:, :40] = 0  # dark on the left: upright for the reader
    paths = [tmp_path / "up.png", tmp_path / "down.png"]
    cv2.imwrite(str(paths[0]), line)
    cv2.imwrite(str(paths[1]), cv2.rotate(line, cv2.ROTATE_180))
    plain = pl.predict(_ReadsDarkLeft(cs), paths, cs)
    assert [p.text for p in plain] == ["7", "1"] and plain[1].confidence < 0.5
    both = pl.predict(_ReadsDarkLeft(cs), paths, cs, rotate_180=True)
    assert [(p.text, p.rotated) for p in both] == [("7", False), ("7", True)]
    assert both[1].confidence > 0.99 and both[0].confidence == plain[0].confidence


def test_rotation_helps_only_when_val_lines_come_upside_down(tmp_path: Path):
    import cv2

    from semiocr.core.data.labels import Sample

    cs = Charset(tuple("0123456789"), use_space=False)
    line = np.full((48, 80, 3), 255, np.uint8)
    line[:, :40] = 0
    up, down = tmp_path / "up.png", tmp_path / "down.png"
    cv2.imwrite(str(up), line)
    cv2.imwrite(str(down), cv2.rotate(line, cv2.ROTATE_180))
    helps, accs = pl.rotation_helps(_ReadsDarkLeft(cs), [Sample(up, "7", "val.txt:1"), Sample(down, "7", "val.txt:2")],
                                    cs)
    assert helps and accs == {"upright": 0.5, "both": 1.0}
    helps, accs = pl.rotation_helps(_ReadsDarkLeft(cs), [Sample(up, "7", "val.txt:1")], cs)
    assert not helps and accs == {"upright": 1.0, "both": 1.0}


def test_select_threshold_then_top_fraction():
    labels = [pl.PseudoLabel(Path(f"{i}"), "12" if i else "", c) for i, c in enumerate([0.99, 0.5, 0.97, 0.9, 0.2])]
    kept = pl.select(labels, threshold=0.8)
    assert [p.confidence for p in kept] == [0.97, 0.9]  # the empty text at 0.99 is dropped (min_length=1)
    assert [p.confidence for p in pl.select(labels, None, top_fraction=0.4)] == [0.97, 0.9]
    assert len(pl.select(labels, 0.0, top_fraction=1.0, min_length=0)) == 5
    with pytest.raises(ValueError, match="top_fraction"):
        pl.select(labels, None, top_fraction=0.0)


def test_select_keeps_the_top_of_each_rare_character_too():
    """Lines with a rarely written character ("." here, read with lower confidence than the common lines) would
    never make a pool-wide top half; with ``rare_char_share`` the top half of their group is kept as well."""
    common = [pl.PseudoLabel(Path(f"c{i}"), "L117", 0.99 - i / 1000) for i in range(90)]
    dots = [pl.PseudoLabel(Path(f"d{i}"), "L11.7", 0.90 - i / 100) for i in range(6)]
    colons = [pl.PseudoLabel(Path(f"k{i}"), "L11:7", 0.80 - i / 100) for i in range(4)]
    pool = common + dots + colons  # "." in 6 of 100 readings, ":" in 4
    assert pl.select(pool, None, 0.5) == common[:50]
    kept = pl.select(pool, None, 0.5, rare_char_share=0.05)  # ":" (4 %) is rare, "." (6 %) is not
    assert kept == common[:50] + colons[:2]
    kept = pl.select(pool, None, 0.5, rare_char_share=0.1)
    assert kept == common[:50] + dots[:3] + colons[:2]
    kept = pl.select(pool, 0.795, 0.5, rare_char_share=0.1)  # the threshold still applies (drops colons[1])
    assert kept == common[:50] + dots[:3] + colons[:1]
    assert pl.select(pool, 0.795, None, rare_char_share=0.1) == pl.select(pool, 0.795)  # no top fraction: as is


def test_write_read_roundtrip_and_kept_file_imports_as_labels(tmp_path: Path):
    root = tmp_path / "ds"
    (root / "images").mkdir(parents=True)
    labels = [pl.PseudoLabel(root / "images" / f"{i}.png", t, c, r) for i, (t, c, r) in
              enumerate([("123", 0.91, True), ("4", 0.99, False), ("77", 0.3, False)])]
    kept = pl.select(labels, 0.9)
    files = pl.write_pseudo_labels(tmp_path / "run" / "pseudo" / "round1", labels, kept, root,
                                   {"round": 1, "threshold": 0.9, "model": "x.pt"})
    assert files["tsv"].read_text().splitlines()[:2] == ["images/1.png\t4\t0.990000\t0",
                                                         "images/0.png\t123\t0.910000\t180"]
    back = pl.read_pseudo_labels(files["tsv"], root)
    ranked = sorted(labels, key=lambda p: -p.confidence)
    assert [(p.path, p.text, p.rotated) for p in back] == [(lab.path, lab.text, lab.rotated) for lab in ranked]
    (root / "train.txt").write_text(files["labels"].read_text())
    imported = read_labelled(root, "train.txt")
    assert [(s.path.name, s.text) for s in imported] == [("1.png", "4"), ("0.png", "123")]
    meta = __import__("json").loads(files["meta"].read_text())
    assert meta["round"] == 1 and meta["kept"] == 2 and meta["predicted"] == 3 and meta["kept_rotated"] == 1
    prec = pl.precision(kept, {"images/1.png": "4", "images/0.png": "12"}, root)
    assert prec == {"n": 2.0, "precision": 0.5}


def test_read_pseudo_labels_names_bad_line(tmp_path: Path):
    f = tmp_path / "p.tsv"
    f.write_text("a.png\t1\t0.5\nb.png\t2\n")
    with pytest.raises(ValueError, match=r"p.tsv:2: expected path<TAB>text<TAB>confidence"):
        pl.read_pseudo_labels(f, tmp_path)
    f.write_text("a.png\t1\t0.5\t90\n")
    with pytest.raises(ValueError, match=r"p.tsv:1: angle must be 0 or 180"):
        pl.read_pseudo_labels(f, tmp_path)
