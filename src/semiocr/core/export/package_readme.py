"""The README of an offline package (filled in from the build's facts)."""

from __future__ import annotations

from typing import Any

TEMPLATE = """# {name}: offline OCR package

Built by semiocr {version} on {created}. Text detection ({det_arch}{det_int8}) and recognition
({rec_arch}{rec_int8}) as ONNX models, run by ONNX Runtime ({runtime}). No torch, no network, no activation:
nothing in this folder opens a connection except `serve`'s own listening socket.

## Contents

| path | what |
|---|---|
| `models/det.onnx`, `models/rec.onnx` | the models, self-described in the ONNX metadata `semiocr` \
(architecture, charset, input normalisation, parent checkpoint, dataset hash, versions); `rec.onnx` also in \
`character` (which RapidOCR reads) |
| `semiocr_runtime/` | the runner (numpy, OpenCV, pyclipper, ONNX Runtime) |
| `requirements.txt` | pinned requirements |
| `selftest/` | a generated page and `expected.json`: the lines that both the PyTorch and the ONNX \
pipeline read on it at build time |
| `package.json` | the build's facts: models, export checks, int8 decisions, threads |
| `SHA256SUMS` | the SHA-256 of every file (`sha256sum -c SHA256SUMS` checks it too) |

## Install

Python >= 3.11. From the unzipped folder:

```
python -m venv .venv
. .venv/bin/activate            # Windows: .venv\\Scripts\\activate
pip install -r requirements.txt
```
{gpu_note}
## Verify

```
python -m semiocr_runtime verify
```

Checks every file against `SHA256SUMS` (a changed, missing or added file fails and is named), then reads the
self-test page: the same texts as at build time, box corners within {box_tol:g} px. Exit code 0 when all
holds, 1 otherwise. Checksums catch damage and edits; to know who built the package, compare the SHA-256 of
`SHA256SUMS` with the one its builder published ({sums_note}).

## Read images

```
python -m semiocr_runtime ocr page.png scan.jpg          # text<TAB>score per line
python -m semiocr_runtime ocr page.png --json            # polygons, scores, timings
```

## Serve

```
export OCR_TOKEN=$(python -c "import secrets; print(secrets.token_urlsafe(24))")
python -m semiocr_runtime serve --host 127.0.0.1 --port 8080 --token-env OCR_TOKEN
curl -H "Authorization: Bearer $OCR_TOKEN" -F file=@page.png http://127.0.0.1:8080/v1/ocr
```

`POST /v1/ocr` (multipart `file`, or JSON `{{"image": <base64>}}`; `mode` = `ocr` or `rec` for one line),
the PaddleX-compatible `POST /ocr`, `GET /health`, `GET /metrics` (Prometheus). With `--token-env VAR` the OCR
endpoints require `Authorization: Bearer <$VAR>` (compared in constant time); without it the service is open,
so it binds to 127.0.0.1 by default. Put it behind a TLS proxy before exposing it.

## Limits

- Uploads up to 20 MB and 64 M pixels; one inference at a time, 32 waiting, then 503 with `Retry-After`.
- Pages: the longest side is brought to at most 2000 px, the shortest to at least 30 px; detection runs with
  the shorter side at {limit_side} px (multiples of 32). Lines read below score {text_score:g} are dropped.
- Horizontal text; crops at least 1.5x taller than wide are turned 90° before reading. No angle classifier.
- Recognition reads the charset of `rec.onnx` ({num_classes} classes); other characters cannot be read.
- ONNX Runtime threads: {threads} (`--threads N` overrides).
- Export checks: ONNX Runtime vs PyTorch max |Δprob| {rec_diff:.1e} (rec) and {det_diff:.1e} (det map), under
  the tolerances {rec_tol:.0e} / {det_tol:.0e} (graph as written) and {opt_tol:.0e} (optimised).
{int8_note}"""


def render_readme(facts: dict[str, Any]) -> str:
    """The README text from the build's facts (the keys of ``TEMPLATE``)."""
    return TEMPLATE.format(**facts)


def gpu_note(runtime: str, requirement: str) -> str:
    if runtime != "onnxruntime-gpu":
        return ""
    return (f"\n`{requirement}` needs CUDA 12 and cuDNN 9 on the machine (or `pip install "
            f"\"{requirement.replace('==', '[cuda,cudnn]==')}\"` to bring them from PyPI); without a usable GPU\n"
            f"ONNX Runtime falls back to the CPU (`--cpu` asks for it). `verify` on a GPU may differ from the CPU\n"
            f"build by rounding: texts must still match, boxes within the tolerance.\n")
