import numpy as np
import pytest
import torch
from synthetic_lines import render_line

from semiocr.core.inference.recognizer import Recognizer
from semiocr.core.models.registry import build_model
from semiocr.core.weights.checkpoint import CheckpointMeta, rec_input_spec, save_checkpoint
from semiocr.runtime.charset import Charset
from semiocr.runtime.ctc import ctc_greedy_decode
from semiocr.runtime.rec_preprocess import preprocess_batch, width_batches


def _images():
    rng = np.random.default_rng(0)
    return [render_line(t, rng) for t in ["1", "22222222", "333", "4444", "5"]]


def test_width_batches_group_similar_ratios_and_cover_all():
    imgs = _images()
    batches = width_batches(imgs, 2)
    assert sorted(i for b in batches for i in b) == list(range(5))
    ratios = [imgs[i].shape[1] / imgs[i].shape[0] for b in batches for i in b]
    assert ratios == sorted(ratios)


def test_from_weights_predicts_like_a_direct_forward_in_input_order(tmp_path):
    cs = Charset(tuple("0123456789"), use_space=False)
    torch.manual_seed(0)
    model = build_model("rec-tiny", num_classes=cs.num_classes).eval()
    meta = CheckpointMeta(arch="rec-tiny", charset=cs.to_dict(), input=rec_input_spec())
    save_checkpoint(tmp_path / "m.pt", meta, model.state_dict())
    rec = Recognizer.from_weights(tmp_path / "m.pt", device="cpu", batch_size=1)
    imgs = _images()
    got = rec.predict(imgs)
    with torch.no_grad():
        for img, d in zip(imgs, got, strict=True):
            probs = torch.softmax(model(torch.from_numpy(preprocess_batch([img]))), dim=2)
            want = ctc_greedy_decode(probs.numpy(), cs)[0]
            assert d.text == want.text and d.confidence == pytest.approx(want.confidence, abs=1e-5)
    assert not list(tmp_path.glob("*.tmp"))


def test_recognizer_refuses_mismatched_charset():
    model = build_model("rec-tiny", num_classes=5)
    with pytest.raises(ValueError, match="5 classes"):
        Recognizer(model, Charset(tuple("abcdef")))
