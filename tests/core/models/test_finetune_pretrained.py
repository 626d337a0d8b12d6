"""Fine-tuning from the imported PP-OCRv4 weights: head surgery keeps shared rows; the engine trains from presets."""

from __future__ import annotations

import pytest
import torch
from synthetic_lines import make_rec_dataset

from semiocr.core.data.labels import read_labelled
from semiocr.core.events import JsonlSink, read_jsonl
from semiocr.core.inference.recognizer import Recognizer
from semiocr.core.models import build_model
from semiocr.core.models.pretrained import load_preset
from semiocr.core.training.config import RecTrainConfig
from semiocr.core.training.loop import fit
from semiocr.core.training.rec_data import read_image
from semiocr.core.training.supervised import build_supervised_task
from semiocr.core.weights.load import load_start_weights
from semiocr.runtime.charset import Charset
from semiocr.runtime.resources import PPOCR_DEFAULT_DICT, resource_path

DIGITS = Charset(tuple("0123456789"), use_space=False)


@pytest.fixture(scope="module")
def digit_lines(tmp_path_factory):
    root = make_rec_dataset(tmp_path_factory.mktemp("digits"), n_train=16, n_val=24, seed=3)
    val = read_labelled(root, "val.txt")
    return root, [read_image(s.path, s.source) for s in val], [s.text for s in val]


def _acc(model, charset, images, texts) -> float:
    preds = [d.text for d in Recognizer(model.eval(), charset, "cpu", batch_size=8).predict(images)]
    return sum(p == t for p, t in zip(preds, texts, strict=True)) / len(texts)


def test_digits_only_dict_starts_from_pretrained_digit_rows(digit_lines):
    _, images, texts = digit_lines
    original, default, _ = load_preset("PP-OCRv4-mobile-rec")
    acc_original = _acc(original, default, images, texts)

    model = build_model("PP-OCRv4-mobile-rec", num_classes=DIGITS.num_classes)
    msg = load_start_weights(model, "PP-OCRv4-mobile-rec", DIGITS)
    assert "11 of 11 rows" in msg  # blank + the ten digits
    rows = [default.index(c) for c in DIGITS.chars]
    assert torch.equal(model.head.fc.weight[1:], original.head.fc.weight[rows])
    assert torch.equal(model.head.fc.weight[0], original.head.fc.weight[0])
    acc_digits = _acc(model, DIGITS, images, texts)
    assert acc_original >= 0.6, f"the pretrained model reads only {acc_original:.0%} of clean digit lines"
    assert acc_digits >= acc_original - 1 / len(texts), (acc_digits, acc_original)


@pytest.mark.slow
@pytest.mark.parametrize("dict_kind", ["default", "digits"])
def test_engine_finetunes_from_the_preset(digit_lines, tmp_path, dict_kind):
    root, _, _ = digit_lines
    extra = {"dict_file": str(resource_path(PPOCR_DEFAULT_DICT)), "use_space": True} if dict_kind == "default" \
        else {"use_space": False}
    cfg = RecTrainConfig(arch="PP-OCRv4-mobile-rec", pretrained="PP-OCRv4-mobile-rec", data_dir=str(root),
                      output_dir=str(tmp_path / "run"), epochs=1, batch_size=8, learning_rate=2e-4, workers=0,
                      augment="none", device="cpu", seed=0, log_interval=1, eval_batch_size=8, **extra)
    result = fit(build_supervised_task(cfg), cfg, sink=JsonlSink(tmp_path / "m.jsonl"))
    assert result.reason == "finished" and result.step == 2
    logs = " ".join(e["message"] for e in read_jsonl(tmp_path / "m.jsonl", "log"))
    assert "preset PP-OCRv4-mobile-rec" in logs
    assert ("rows carried" in logs) == (dict_kind == "digits")
    assert result.best >= 0.6, f"val accuracy after fine-tuning from the preset: {result.best}"
