"""The OCR service app (in-process): what it reads, PaddleX's shape, and that no malformed, hostile or oversized
upload — nor anything a schema fuzzer generates — gets a 5xx."""

from __future__ import annotations

import base64
import threading
import time

import cv2
import numpy as np
import pytest
import schemathesis
from data_helpers import png_bomb_bytes
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from text_pages import generated_page

from semiocr.core.models.pretrained import onnx_path
from semiocr.runtime.http import ServiceLimits, create_ocr_app
from semiocr.runtime.onnx_runner import load_pipeline
from semiocr.runtime.pipeline import DBDetector, OcrPipeline

PIPELINE = None


def pipeline():
    global PIPELINE
    if PIPELINE is None:
        PIPELINE = load_pipeline(onnx_path("PP-OCRv4-mobile-det"), onnx_path("PP-OCRv4-mobile-rec"))
    return PIPELINE


@pytest.fixture(scope="module")
def client():
    with TestClient(create_ocr_app(pipeline(), limits=ServiceLimits(max_upload_bytes=1_000_000,
                                                                   max_pixels=4_000_000))) as c:
        yield c


def _png(img: np.ndarray) -> bytes:
    return cv2.imencode(".png", img)[1].tobytes()


def test_reads_a_page_by_upload_and_by_base64_and_a_line_in_rec_mode(client):
    img, truth = generated_page(5)
    png = _png(img)
    by_file = client.post("/v1/ocr", files={"file": ("p.png", png, "image/png")}).json()
    by_json = client.post("/v1/ocr", json={"image": base64.b64encode(png).decode()}).json()
    assert [ln["text"].strip() for ln in by_file["lines"]] == [t for t, _ in truth]
    assert by_json["lines"] == by_file["lines"] and by_file["width"] == img.shape[1]
    (x0, y0), (x1, y1) = np.min(truth[0][1], 0), np.max(truth[0][1], 0)
    line = _png(img[int(y0) - 4:int(y1) + 4, int(x0) - 4:int(x1) + 4])
    rec = client.post("/v1/ocr", files={"file": ("l.png", line, "image/png")}, data={"mode": "rec"}).json()
    assert rec["lines"][0]["text"].strip() == truth[0][0]


def test_paddlex_compatible_shape(client):
    img, truth = generated_page(6)
    r = client.post("/ocr", json={"file": base64.b64encode(_png(img)).decode(), "fileType": 1})
    body = r.json()
    assert r.status_code == 200 and set(body) == {"logId", "errorCode", "errorMsg", "result"}
    assert body["errorCode"] == 0 and body["errorMsg"] == "Success"
    pruned = body["result"]["ocrResults"][0]["prunedResult"]
    assert [t.strip() for t in pruned["rec_texts"]] == [t for t, _ in truth]
    assert len(pruned["rec_polys"]) == len(pruned["rec_scores"]) == len(pruned["rec_boxes"]) == len(truth)
    assert body["result"]["dataInfo"] == {"type": "image", "width": img.shape[1], "height": img.shape[0]}
    bad = client.post("/ocr", json={"file": base64.b64encode(_png(img)).decode(), "fileType": 0}).json()
    assert bad["errorCode"] == 422 and "only 1 (image)" in bad["errorMsg"] and "logId" in bad


def _hostile() -> dict[str, dict]:
    img, _ = generated_page(7)
    png, jpg = _png(img), cv2.imencode(".jpg", img)[1].tobytes()
    rng = np.random.default_rng(0)
    wide = np.full((10, 3000), 255, np.uint8)  # 30 000 pixels: fine; 4000x1200 = 4.8 M > max_pixels
    return {
        "truncated png": {"files": {"file": ("a.png", png[: len(png) // 3], "image/png")}},
        "truncated jpeg": {"files": {"file": ("a.jpg", jpg[: len(jpg) // 2], "image/jpeg")}},
        "random bytes": {"files": {"file": ("a.png", rng.bytes(5000), "image/png")}},
        "empty file": {"files": {"file": ("a.png", b"", "image/png")}},
        "decompression bomb": {"files": {"file": ("bomb.png", png_bomb_bytes(), "image/png")}},
        "huge dimensions": {"files": {"file": ("big.png", _png(np.zeros((1200, 4000), np.uint8)), "image/png")}},
        "a sliver": {"files": {"file": ("thin.png", _png(wide), "image/png")}},
        "over the byte limit": {"files": {"file": ("a.png", b"\x89PNG" + bytes(1_100_000), "image/png")}},
        "malformed json": {"content": b"{\"image\": ", "headers": {"content-type": "application/json"}},
        "json array": {"json": ["x"]},
        "not base64": {"json": {"image": "%%%"}},
        "a url": {"json": {"image": "https://example.com/a.png"}},
        "a path": {"json": {"image": "/etc/passwd"}},
        "wrong content type": {"content": b"abc", "headers": {"content-type": "text/plain"}},
        "no file part": {"files": {"other": ("a.png", png, "image/png")}},
        "bad mode": {"files": {"file": ("a.png", png, "image/png")}, "data": {"mode": "poem"}},
        "broken multipart": {"content": b"--x\r\nnope", "headers": {"content-type": "multipart/form-data; boundary=x"}},
    }


@pytest.mark.parametrize("case", sorted(_hostile()))
def test_hostile_uploads_get_a_4xx_with_a_reason(client, case):
    r = client.post("/v1/ocr", **_hostile()[case])
    if case == "a sliver":
        assert r.status_code == 200
        return
    assert 400 <= r.status_code < 500, (case, r.status_code, r.text)
    assert r.json()["detail"]
    if case in ("decompression bomb", "huge dimensions", "over the byte limit"):
        assert r.status_code == 413


def test_paddlex_endpoint_hostile_inputs(client):
    for body in ({"file": 5, "fileType": 1}, {"fileType": 1}, {"file": "aGVsbG8=", "fileType": "1"},
                 {"file": base64.b64encode(png_bomb_bytes()).decode(), "fileType": 1}):
        r = client.post("/ocr", json=body)
        assert 400 <= r.status_code < 500 and r.json()["errorCode"] == r.status_code, body


class _SlowDetector(DBDetector):
    def prob_map(self, page: np.ndarray) -> np.ndarray:
        time.sleep(0.5)
        return np.zeros(page.shape[:2], np.float32)


def test_a_full_queue_answers_503_with_retry_after():
    slow = OcrPipeline(_SlowDetector(), pipeline().recognizer)
    app = create_ocr_app(slow, limits=ServiceLimits(workers=1, queue=0))
    png = _png(np.full((64, 64, 3), 255, np.uint8))
    results: list[int] = []
    with TestClient(app) as c:
        def call() -> None:
            results.append(c.post("/v1/ocr", files={"file": ("a.png", png, "image/png")}).status_code)

        threads = [threading.Thread(target=call) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results) == [200, 503, 503]
        r = c.get("/metrics")
        assert 'semiocr_requests_total{endpoint="/v1/ocr",status="503"} 2.0' in r.text


SCHEMA = schemathesis.openapi.from_asgi("/openapi.json", create_ocr_app(pipeline(),
                                                                       limits=ServiceLimits(max_upload_bytes=200_000)))


@SCHEMA.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_schema_fuzz_never_yields_a_5xx(case):
    response = case.call()
    assert response.status_code < 500, (case.path, response.status_code, response.text[:300])
