import pytest
import torch

from semiocr.core.models.registry import build_model, list_models
from semiocr.core.models.surgery import adapt_ctc_head
from semiocr.runtime.charset import Charset


@pytest.mark.parametrize("name", ["rec-tiny", "rec-tiny-lstm"])
@pytest.mark.parametrize("width", [320, 480])
def test_tiny_presets_output_w_over_8_frames(name, width):
    model = build_model(name, num_classes=11).eval()
    out = model(torch.zeros(2, 3, 48, width))
    assert isinstance(out, torch.Tensor) and out.shape == (2, width // 8, 11)
    assert isinstance(model.head.fc, torch.nn.Linear) and model.arch_name == name


def test_registry_lists_presets_and_rejects_unknown():
    assert {"rec-tiny", "rec-tiny-lstm"} <= set(list_models())
    with pytest.raises(KeyError, match="rec-tiny"):
        build_model("no-such-model", num_classes=3)


def test_adapt_ctc_head_copies_shared_rows_and_blank():
    old, new = Charset(tuple("abc"), use_space=False), Charset(tuple("cxa"), use_space=True)
    model = build_model("rec-tiny", num_classes=old.num_classes)
    w, b = model.head.fc.weight.detach().clone(), model.head.fc.bias.detach().clone()
    carried = adapt_ctc_head(model, old, new)
    assert carried == 3  # blank, 'c', 'a'
    fc = model.head.fc
    assert fc.out_features == new.num_classes == 5
    for new_i, old_i in [(0, 0), (1, 3), (3, 1)]:  # blank; 'c' old idx 3 -> new 1; 'a' 1 -> 3
        assert torch.equal(fc.weight[new_i], w[old_i]) and fc.bias[new_i] == b[old_i]
    assert not any(torch.equal(fc.weight[2], w[i]) for i in range(4))  # 'x' is new
    assert model(torch.zeros(1, 3, 48, 320)).shape == (1, 40, 5)


def test_adapt_ctc_head_rejects_wrong_old_charset():
    model = build_model("rec-tiny", num_classes=7)
    with pytest.raises(ValueError, match="7 classes"):
        adapt_ctc_head(model, Charset(tuple("ab"), use_space=False), Charset(tuple("abc")))
