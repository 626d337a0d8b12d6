"""The runtime works without torch: in a fresh interpreter where ``import torch`` (and torchvision) fails, every
``semiocr.runtime`` module imports, and charset, recognition preprocessing, CTC decoding, detection pre- and
post-processing, crops, reading order, drawing and the whole ``OcrPipeline`` (a numpy detector, a fake
recognizer) run and give the expected results."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import semiocr

SCRIPT = r'''
import importlib
import importlib.abc
import json
import pkgutil
import sys


class NoTorch(importlib.abc.MetaPathFinder):
    """Any import of torch or torchvision fails, as on a machine without them."""

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in ("torch", "torchvision"):
            raise ImportError(f"{name} is not installed (blocked by the test)")
        return None


sys.meta_path.insert(0, NoTorch())
try:
    import torch  # noqa: F401
except ImportError:
    pass
else:
    raise SystemExit("the torch block does not work")

import cv2
import numpy as np

import semiocr.runtime

out = {"modules": sorted(m.name for m in pkgutil.walk_packages(semiocr.runtime.__path__, "semiocr.runtime."))}
for name in out["modules"]:
    importlib.import_module(name)

from semiocr.runtime.charset import Charset
from semiocr.runtime.ctc import Decoded, ctc_greedy_decode
from semiocr.runtime.det_postprocess import DBPostprocessConfig, boxes_from_prob, filter_boxes, sort_reading_order
from semiocr.runtime.det_preprocess import prepare_page, preprocess_det
from semiocr.runtime.pipeline import DBDetector, OcrPipeline, draw_result, rotate_crop
from semiocr.runtime.rec_preprocess import preprocess_batch

# charset and CTC decoding
cs = Charset.from_dict({"chars": "abc", "use_space": False})
frames = [3, 3, 0, 1, 0, 2, 2, 0]  # c c - a - b b -  → "cab"
probs = np.full((1, len(frames), cs.num_classes), 0.05, np.float32)
probs[0, np.arange(len(frames)), frames] = 0.85
(decoded,) = ctc_greedy_decode(probs, cs)
out["charset"] = {"num_classes": cs.num_classes, "encode": cs.encode("cab"),
                  "default": Charset.ppocr_default().num_classes}
out["ctc"] = {"text": decoded.text, "frames": list(decoded.char_frames), "confidence": decoded.confidence}

# recognition preprocessing of a generated line
line = np.full((32, 120, 3), 235, np.uint8)
cv2.putText(line, "cab", (4, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (20, 20, 20), 2)
x = preprocess_batch([line, line[:, :60]])
out["rec"] = {"shape": list(x.shape), "min": float(x.min()), "max": float(x.max()),
              "pad_zero": bool((x[1, :, :, 100:] == 0).all()), "ink": bool((x[0] < -0.5).any())}

# detection pre- and post-processing on a synthetic page and probability map
page, tf = prepare_page(np.full((200, 300), 255, np.uint8))
net = preprocess_det(page)
big, big_tf = prepare_page(np.zeros((3000, 1000, 4), np.uint8))  # BGRA, too tall: scaled down
big_corners = big_tf.to_original(np.array([[[0, 0], [big.shape[1], big.shape[0]]]], np.float32)).ravel().tolist()
prob = np.zeros((100, 150), np.float32)
prob[10:20, 80:140] = 0.9   # right box, first row
prob[12:22, 10:70] = 0.8    # left box, same row (a little lower)
prob[60:80, 20:120] = 0.95  # second row
boxes, scores = boxes_from_prob(prob, (200, 300), DBPostprocessConfig())
kept, kept_scores = filter_boxes(boxes, scores, (200, 300))
order = sort_reading_order(kept)
out["det"] = {"page": list(page.shape), "transform": [tf.ratio_h, tf.ratio_w, tf.pad_top], "net": list(net.shape),
              "big": list(big.shape), "big_corners": big_corners,
              "n_boxes": len(boxes), "n_kept": len(kept), "scores": sorted(float(s) for s in kept_scores),
              "reading_order_x": [float(kept[i][0][0]) for i in order],
              "reading_order_y": [float(kept[i][0][1]) for i in order]}

# crops
img = np.zeros((100, 200, 3), np.uint8)
img[10:30, 20:120] = 200
wide = rotate_crop(img, np.array([[20, 10], [120, 10], [120, 30], [20, 30]], np.float32))
tall = rotate_crop(img, np.array([[0, 0], [20, 0], [20, 60], [0, 60]], np.float32))
out["crop"] = {"wide": list(wide.shape), "wide_min": int(wide.min()), "tall": list(tall.shape)}


class InkDetector(DBDetector):
    """Probability = 0.9 where the network input is dark: a detector without a network."""

    def prob_map(self, page):
        x = self.network_input(page)[0]
        return np.where(x.mean(axis=0) < 0, 0.9, 0.0).astype(np.float32)


class GreyRecognizer:
    """Reads a crop as the name of its centre's grey level; level 100 is read with low confidence."""

    names = {0: "first", 30: "second", 60: "third", 100: "faint"}

    def __init__(self):
        self.calls = 0

    def predict(self, images):
        self.calls += 1
        out = []
        for im in images:
            level = int(im[im.shape[0] // 2, im.shape[1] // 2, 0])
            name = self.names.get(min(self.names, key=lambda v: abs(v - level)))
            out.append(Decoded(name, 0.2 if name == "faint" else 0.9, (), ()))
        return out


doc = np.full((300, 400), 255, np.uint8)   # grey page: the pipeline makes it BGR
doc[30:54, 220:370] = 30   # second (same row, right)
doc[34:58, 30:180] = 0     # first (same row, left)
doc[120:150, 30:370] = 60  # third
doc[200:220, 40:200] = 100  # faint: dropped at text_score 0.5
rec = GreyRecognizer()
pipe = OcrPipeline(InkDetector(post=DBPostprocessConfig(unclip_ratio=0.3)), rec, text_score=0.5)
res = pipe(doc)
blank = pipe(np.full((50, 80, 3), 255, np.uint8))
pic = draw_result(cv2.cvtColor(doc, cv2.COLOR_GRAY2BGR), res)
out["ocr"] = {"texts": [ln.text for ln in res.lines], "polygons": [ln.polygon for ln in res.lines],
              "box_scores": [ln.box_score for ln in res.lines], "size": [res.width, res.height],
              "blank_lines": len(blank.lines), "rec_calls": rec.calls, "picture": list(pic.shape),
              "picture_has_text": bool((pic[:, 400:] < 128).any()), "json": json.loads(res.to_json())["width"]}
out["torch_loaded"] = sorted(m for m in sys.modules if m.partition(".")[0] in ("torch", "torchvision"))
print(json.dumps(out))
'''


@pytest.fixture(scope="module")
def facts() -> dict:
    """What the script found, run in a fresh interpreter without torch (this package's sources first)."""
    src = str(Path(semiocr.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=180)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_every_runtime_module_imports_without_torch(facts: dict) -> None:
    assert {"semiocr.runtime.charset", "semiocr.runtime.ctc", "semiocr.runtime.det_postprocess",
            "semiocr.runtime.det_preprocess", "semiocr.runtime.draw", "semiocr.runtime.images",
            "semiocr.runtime.pipeline", "semiocr.runtime.rec_preprocess", "semiocr.runtime.integrity",
            "semiocr.runtime.offline"} <= set(facts["modules"])
    assert facts["torch_loaded"] == []


def test_charset_and_ctc_decoding(facts: dict) -> None:
    assert facts["charset"] == {"num_classes": 4, "encode": [3, 1, 2], "default": 6625}
    assert facts["ctc"]["text"] == "cab" and facts["ctc"]["frames"] == [0, 3, 5]
    assert facts["ctc"]["confidence"] == pytest.approx(0.85, abs=1e-6)


def test_recognition_preprocessing(facts: dict) -> None:
    rec = facts["rec"]
    assert rec["shape"] == [2, 3, 48, 320]  # height 48, padded to the 320 px minimum width
    assert -1.0 <= rec["min"] < -0.5 and 0.5 < rec["max"] <= 1.0 and rec["ink"] and rec["pad_zero"]


def test_detection_pre_and_post_processing(facts: dict) -> None:
    det = facts["det"]
    assert det["page"] == [200, 300, 3] and det["transform"] == [1.0, 1.0, 0]  # a normal page is kept as is
    assert det["big"] == [1984, 672, 3]  # longest side scaled to 2000, then both to multiples of 32
    assert det["big_corners"] == pytest.approx([0, 0, 1000, 3000], abs=1e-3)
    n, c, h, w = det["net"]
    assert (n, c) == (1, 3) and h == 736 and w % 32 == 0 and w > h  # shorter side at limit_side_len
    assert det["n_boxes"] == det["n_kept"] == 3
    # mean probability inside each (dilated) box: above box_thresh, at most the value painted in the map
    assert all(0.5 < s <= v for s, v in zip(det["scores"], [0.8, 0.9, 0.95], strict=True)), det["scores"]
    # map pixels × 2 → page; the right box of the first row sits 4 px higher yet reads after the left one
    x, y = det["reading_order_x"], det["reading_order_y"]
    assert x[0] < 40 < 120 < x[1] and y[1] < y[0] and y[2] > 80


def test_crops_are_upright_and_tall_ones_turned(facts: dict) -> None:
    assert facts["crop"] == {"wide": [20, 100, 3], "wide_min": 200, "tall": [20, 60, 3]}


def test_ocr_pipeline_with_a_numpy_detector_and_a_fake_recognizer(facts: dict) -> None:
    ocr = facts["ocr"]
    assert ocr["texts"] == ["first", "second", "third"]  # reading order; the low-confidence line is dropped
    assert ocr["size"] == [400, 300] and ocr["json"] == 400
    expected = [(30, 34, 180, 58), (220, 30, 370, 54), (30, 120, 370, 150)]
    for poly, (x0, y0, x1, y1) in zip(ocr["polygons"], expected, strict=True):
        xs, ys = [p[0] for p in poly], [p[1] for p in poly]
        assert abs(min(xs) - x0) <= 8 and abs(max(xs) - x1) <= 8, poly
        assert abs(min(ys) - y0) <= 8 and abs(max(ys) - y1) <= 8, poly
    assert all(0.8 < s <= 0.9 for s in ocr["box_scores"]), ocr["box_scores"]
    assert ocr["blank_lines"] == 0 and ocr["rec_calls"] == 1  # a blank page never reaches the recognizer
    assert ocr["picture"] == [300, 800, 3] and ocr["picture_has_text"]
