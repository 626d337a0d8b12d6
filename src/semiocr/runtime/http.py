"""The OCR HTTP service: one app for the platform's deployments and the offline package's ``serve``.

Models are loaded once (the ``OcrPipeline`` passed in); requests run in a bounded pool (``limits.workers``
inferences at a time, at most ``limits.queue`` waiting: beyond that 503 with ``Retry-After``). Uploads are
limited in bytes (checked while the body arrives) and in pixels (checked from the image header before decoding);
only image data in the request is read — never a path or a URL. Endpoints:

* ``POST /v1/ocr``: a multipart ``file`` or JSON ``{"image": <base64>}``; ``mode`` ``ocr`` (detect + read) or
  ``rec`` (the image is one text line);
* ``POST /ocr``: PaddleX-compatible (``{"file": <base64>, "fileType": 1}`` → ``{"logId", "errorCode",
  "errorMsg", "result": {"ocrResults": [{"prunedResult": …}], "dataInfo": …}}``);
* ``GET /health`` and ``GET /metrics`` (Prometheus).

``authorize(token)`` (the bearer token, or None) decides who may call the OCR endpoints: it raises
``PermissionError`` to refuse; without it the service is open (the package binds to 127.0.0.1 by default).
"""

from __future__ import annotations

import base64
import binascii
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from semiocr.runtime.images import DEFAULT_MAX_PIXELS, ImageDecodeError, decode_image_bytes
from semiocr.runtime.pipeline import OcrPipeline


@dataclass(frozen=True)
class ServiceLimits:
    """Upload and concurrency limits of one service."""

    max_upload_bytes: int = 20 * 1024 * 1024
    max_pixels: int = DEFAULT_MAX_PIXELS
    workers: int = 1  # inferences at a time (each ONNX session has its own threads)
    queue: int = 32  # requests waiting beyond the running ones before 503


class RequestError(Exception):
    """A request the service refuses: ``status`` (4xx/503) and a reason for the caller."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


class _Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("semiocr_requests", "OCR requests", ["endpoint", "status"], registry=self.registry)
        self.latency = Histogram("semiocr_request_seconds", "OCR request latency", ["endpoint"],
                                 registry=self.registry)
        self.waiting = Gauge("semiocr_queue_waiting", "requests waiting for an inference slot", registry=self.registry)
        self.lines = Counter("semiocr_lines", "text lines read", registry=self.registry)


class _BodyLimit:
    """ASGI middleware: a request body over ``limit`` bytes ends with 413 as soon as it is seen to be."""

    def __init__(self, app: Any, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            return await _send_json(send, 413, {"detail": f"upload of {int(declared):,} bytes is over the limit of "
                                                          f"{self.limit:,} bytes"})
        seen = 0

        async def limited() -> dict:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise RequestError(413, f"upload is over the limit of {self.limit:,} bytes")
            return message

        try:
            await self.app(scope, limited, send)
        except RequestError as e:
            await _send_json(send, e.status, {"detail": e.reason})


async def _send_json(send: Callable, status: int, body: dict) -> None:
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})


def decode_base64_image(text: Any, limits: ServiceLimits, field: str) -> bytes:
    """The bytes of a base64 image field; URLs and paths are refused (the service never fetches or opens them)."""
    if not isinstance(text, str) or not text:
        raise RequestError(422, f"{field}: base64-encoded image data required")
    if text.startswith(("http://", "https://", "file:", "/", "ftp://")):
        raise RequestError(422, f"{field}: URLs and paths are not accepted; send the image data (base64)")
    if "," in text[:100] and text.startswith("data:"):
        text = text.split(",", 1)[1]
    if len(text) > limits.max_upload_bytes * 4 // 3 + 4:
        raise RequestError(413, f"{field}: image is over the limit of {limits.max_upload_bytes:,} bytes")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise RequestError(422, f"{field}: not valid base64") from None


_MODE = {"type": "string", "enum": ["ocr", "rec"], "default": "ocr"}
_OCR_BODY = {"requestBody": {"required": True, "content": {
    "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "format": "binary"}, "mode": _MODE}}},
    "application/json": {"schema": {"type": "object", "required": ["image"], "properties": {
        "image": {"type": "string", "description": "base64 image data"}, "mode": _MODE}}}}}}
_PADDLEX_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "description": "base64 image data (URLs are not fetched)"},
        "fileType": {"type": "integer", "enum": [0, 1], "default": 1}}}}}}}


def create_ocr_app(pipeline: OcrPipeline, *, authorize: Callable[[str | None], None] | None = None,
                   limits: ServiceLimits = ServiceLimits(), name: str = "semiocr",
                   info: dict[str, Any] | None = None) -> FastAPI:
    """The OCR service around a loaded ``pipeline`` (see the module)."""
    app = FastAPI(title=f"{name} OCR service", description=__doc__)
    metrics = _Metrics()
    slots = anyio.CapacityLimiter(limits.workers)
    waiting = {"n": 0}

    def check_auth(request: Request) -> None:
        if authorize is None:
            return
        header = request.headers.get("authorization") or ""
        token = header[7:].strip() if header.lower().startswith("bearer ") else None
        try:
            authorize(token)
        except PermissionError as e:
            raise RequestError(401 if token is None or "unknown" in str(e) or "revoked" in str(e) else 403,
                               str(e)) from None

    async def run(fn: Callable[[], Any]) -> Any:
        if waiting["n"] >= limits.queue + limits.workers:
            raise RequestError(503, "the service is busy; retry shortly")
        waiting["n"] += 1
        metrics.waiting.set(waiting["n"])
        try:
            return await anyio.to_thread.run_sync(fn, limiter=slots)
        finally:
            waiting["n"] -= 1
            metrics.waiting.set(waiting["n"])

    def image(data: bytes) -> Any:
        try:
            return decode_image_bytes(data, limits.max_pixels, "upload", allow_unknown=False)
        except ImageDecodeError as e:
            raise RequestError(413 if "over the limit" in str(e) else 422, str(e)) from None

    def read(img: Any, mode: str) -> dict[str, Any]:
        if mode == "rec":
            [d] = pipeline.recognizer.predict([img])
            return {"width": img.shape[1], "height": img.shape[0],
                    "lines": [{"text": d.text, "score": round(d.confidence, 6), "angle": d.angle}]}
        result = pipeline(img).to_dict()
        metrics.lines.inc(len(result["lines"]))
        return result

    @app.exception_handler(RequestError)
    async def refused(request: Request, exc: RequestError) -> JSONResponse:
        headers = {"Retry-After": "1"} if exc.status == 503 else {}
        if exc.status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        if request.url.path == "/ocr":  # PaddleX's error shape
            body = {"logId": str(uuid.uuid4()), "errorCode": exc.status, "errorMsg": exc.reason}
            return JSONResponse(body, status_code=exc.status, headers=headers)
        return JSONResponse({"detail": exc.reason}, status_code=exc.status, headers=headers)

    @app.middleware("http")
    async def count(request: Request, call_next: Callable) -> Response:
        t0 = time.perf_counter()
        response = await call_next(request)
        if request.url.path in ("/v1/ocr", "/ocr"):
            metrics.requests.labels(request.url.path, str(response.status_code)).inc()
            metrics.latency.labels(request.url.path).observe(time.perf_counter() - t0)
        return response

    @app.post("/v1/ocr", tags=["ocr"], openapi_extra=_OCR_BODY)
    async def ocr(request: Request) -> dict[str, Any]:
        """Read an image: multipart ``file`` (+ form field ``mode``) or JSON ``{"image": base64, "mode"}``."""
        check_auth(request)
        data, mode = await _upload(request, limits)
        if mode not in ("ocr", "rec"):
            raise RequestError(422, f"mode {mode!r}: ocr (detect and read) or rec (one text line)")
        img = image(data)
        return await run(lambda: read(img, mode))

    @app.post("/ocr", tags=["paddlex"], openapi_extra=_PADDLEX_BODY)
    async def paddlex_ocr(request: Request) -> dict[str, Any]:
        """PaddleX-compatible OCR (``fileType`` 1 = image; PDFs are not supported)."""
        check_auth(request)
        body = await _json(request)
        file_type = body.get("fileType", 1)
        if file_type != 1:
            raise RequestError(422, f"fileType {file_type!r}: only 1 (image) is supported")
        img = image(decode_base64_image(body.get("file"), limits, "file"))
        result = await run(lambda: read(img, "ocr"))
        return {"logId": str(uuid.uuid4()), "errorCode": 0, "errorMsg": "Success",
                "result": {"ocrResults": [{"prunedResult": _pruned(result, pipeline.text_score), "ocrImage": None}],
                           "dataInfo": {"type": "image", "width": result["width"], "height": result["height"]}}}

    @app.get("/health", tags=["health"])
    def health() -> dict[str, Any]:
        return {"status": "ok", "name": name, **(info or {})}

    @app.get("/metrics", tags=["health"])
    def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    app.add_middleware(_BodyLimit, limit=limits.max_upload_bytes)
    return app


async def _json(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        raise RequestError(400, "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise RequestError(422, "the body must be a JSON object")
    return body


async def _upload(request: Request, limits: ServiceLimits) -> tuple[bytes, str]:
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("multipart/form-data"):
        try:
            form = await request.form()
        except RequestError:
            raise
        except Exception:  # noqa: BLE001 - any parse failure of the multipart body is the caller's malformed upload
            raise RequestError(400, "malformed multipart body") from None
        file = form.get("file")
        if file is None or isinstance(file, str):
            raise RequestError(422, "multipart body needs a 'file' part with the image")
        data = await file.read()
        mode = form.get("mode", "ocr")
        return data, mode if isinstance(mode, str) else "ocr"
    if ctype.startswith("application/json"):
        body = await _json(request)
        return decode_base64_image(body.get("image"), limits, "image"), str(body.get("mode", "ocr"))
    raise RequestError(415, "send multipart/form-data with a 'file' part, or JSON {\"image\": base64}")


def _pruned(result: dict[str, Any], text_score: float) -> dict[str, Any]:
    """PaddleX's ``prunedResult`` fields from an ``OcrResult`` dict."""
    lines = result["lines"]
    polys = [[[int(round(x)), int(round(y))] for x, y in line["polygon"]] for line in lines]
    boxes = [[min(p[0] for p in poly), min(p[1] for p in poly), max(p[0] for p in poly), max(p[1] for p in poly)]
             for poly in polys]
    return {"dt_polys": polys, "rec_polys": polys, "rec_boxes": boxes, "rec_texts": [ln["text"] for ln in lines],
            "rec_scores": [ln["score"] for ln in lines], "textline_orientation_angles": [ln["angle"] for ln in lines],
            "text_rec_score_thresh": text_score, "text_type": "general"}
