from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from semiocr.core.charset import Charset
from semiocr.core.data.labels import read_labelled
from semiocr.core.ssl import pseudo_label as pl


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


def test_select_threshold_then_top_fraction():
    labels = [pl.PseudoLabel(Path(f"{i}"), "12" if i else "", c) for i, c in enumerate([0.99, 0.5, 0.97, 0.9, 0.2])]
    kept = pl.select(labels, threshold=0.8)
    assert [p.confidence for p in kept] == [0.97, 0.9]  # the empty text at 0.99 is dropped (min_length=1)
    assert [p.confidence for p in pl.select(labels, None, top_fraction=0.4)] == [0.97, 0.9]
    assert len(pl.select(labels, 0.0, top_fraction=1.0, min_length=0)) == 5
    with pytest.raises(ValueError, match="top_fraction"):
        pl.select(labels, None, top_fraction=0.0)


def test_write_read_roundtrip_and_kept_file_imports_as_labels(tmp_path: Path):
    root = tmp_path / "ds"
    (root / "images").mkdir(parents=True)
    labels = [pl.PseudoLabel(root / "images" / f"{i}.png", t, c) for i, (t, c) in
              enumerate([("123", 0.91), ("4", 0.99), ("77", 0.3)])]
    kept = pl.select(labels, 0.9)
    files = pl.write_pseudo_labels(tmp_path / "run" / "pseudo" / "round1", labels, kept, root,
                                   {"round": 1, "threshold": 0.9, "model": "x.pt"})
    assert files["tsv"].read_text().splitlines()[0] == "images/1.png\t4\t0.990000"
    back = pl.read_pseudo_labels(files["tsv"], root)
    ranked = sorted(labels, key=lambda p: -p.confidence)
    assert [(p.path, p.text) for p in back] == [(lab.path, lab.text) for lab in ranked]
    (root / "train.txt").write_text(files["labels"].read_text())
    imported = read_labelled(root, "train.txt")
    assert [(s.path.name, s.text) for s in imported] == [("1.png", "4"), ("0.png", "123")]
    meta = __import__("json").loads(files["meta"].read_text())
    assert meta["round"] == 1 and meta["kept"] == 2 and meta["predicted"] == 3
    prec = pl.precision(kept, {"images/1.png": "4", "images/0.png": "12"}, root)
    assert prec == {"n": 2.0, "precision": 0.5}


def test_read_pseudo_labels_names_bad_line(tmp_path: Path):
    f = tmp_path / "p.tsv"
    f.write_text("a.png\t1\t0.5\nb.png\t2\n")
    with pytest.raises(ValueError, match=r"p.tsv:2: expected path<TAB>text<TAB>confidence"):
        pl.read_pseudo_labels(f, tmp_path)
