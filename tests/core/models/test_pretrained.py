"""Importer behaviour: presets, mapping checks, clear errors."""

from __future__ import annotations

import pytest
import torch

from semiocr.core.models import build_model, list_models
from semiocr.core.models.pretrained import (
    PretrainedError,
    list_pretrained,
    load_preset,
    map_onnx_state_dict,
    onnx_path,
    read_onnx_weights,
)


def test_presets_and_registry_names():
    assert list_pretrained() == ["PP-OCRv4-mobile-det", "PP-OCRv4-mobile-rec", "PP-OCRv6-small-det",
                                 "PP-OCRv6-small-rec", "PP-OCRv6-tiny-rec"]
    assert set(list_pretrained()) <= set(list_models())


def test_unknown_preset_is_a_clear_error():
    with pytest.raises(PretrainedError, match="known: PP-OCRv4-mobile-det, PP-OCRv4-mobile-rec, PP-OCRv6"):
        load_preset("PP-OCRv5-huge")


def test_wrong_architecture_is_refused():
    path = onnx_path("PP-OCRv4-mobile-rec")
    weights, _ = read_onnx_weights(path)
    tiny = build_model("PP-OCRv4-mobile-rec-tiny", num_classes=6625)
    with pytest.raises(PretrainedError, match="does not match"):
        map_onnx_state_dict(tiny, weights, (1, 3, 48, 64), path)


def test_mapping_covers_every_inference_tensor(weights_cache):
    model, _, meta = load_preset("PP-OCRv4-mobile-det", cache=weights_cache)
    mapping = meta["name_mapping"]
    keys = {k for k in model.state_dict() if not k.endswith("num_batches_tracked")}
    assert keys - set(mapping) == {k for k in keys if k.startswith("head.thresh.")}
    assert mapping["backbone.stem.0.weight"] == "conv2d_0.w_0"
    assert mapping["head.binarize.deconv2.bias"] == "conv2d_transpose_1.b_0"
    assert len(set(mapping.values())) == len(mapping)


def test_det_train_mode_returns_db_maps(weights_cache):
    model, _, _ = load_preset("PP-OCRv4-mobile-det", cache=weights_cache)
    out = model.train()(torch.zeros(1, 3, 64, 64))
    assert out.shape == (1, 3, 64, 64)
    assert float(out.detach().min()) >= 0.0 and float(out.detach().max()) <= 1.0
    with pytest.raises(ValueError, match="multiples of 32"):
        model.eval()(torch.zeros(1, 3, 50, 64))


def test_default_cache_follows_semiocr_home(tmp_path, monkeypatch):
    from semiocr.core.models.pretrained import cache_dir

    monkeypatch.setenv("SEMIOCR_HOME", str(tmp_path))
    assert cache_dir() == tmp_path / "weights"
    monkeypatch.delenv("SEMIOCR_HOME")
    assert cache_dir().parts[-2:] == (".semiocr", "weights")
