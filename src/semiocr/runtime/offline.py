"""The offline package's commands (torch-free; in the package as ``semiocr_runtime.offline``), run from the
unzipped folder::

    python -m semiocr_runtime verify [--threads N] [--cpu]
    python -m semiocr_runtime ocr IMAGE... [--json] [--threads N] [--cpu]
    python -m semiocr_runtime serve [--host 127.0.0.1] [--port 8080] [--token-env VAR] [--threads N] [--cpu]

``verify`` checks every file against ``SHA256SUMS`` (a changed, missing or added file fails, named) and reads the
self-test images, which must give the expected lines (same texts, box corners within ``box_tolerance_px``, 1 px);
exit code 0 when all holds, 1 otherwise. ``ocr`` reads images. ``serve`` runs the OCR HTTP service
(``create_ocr_app``) on the package's models; with ``--token-env VAR`` the OCR endpoints require
``Authorization: Bearer <the value of $VAR>`` (compared in constant time). Nothing here opens a network
connection other than the service's own listening socket.
"""

from __future__ import annotations

import argparse
import hmac
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from semiocr.runtime.integrity import check_sums, compare_lines

MANIFEST = "package.json"
EXPECTED = "selftest/expected.json"
BOX_TOLERANCE = 1.0  # px: how far a box corner may move between the build and ``verify``
Echo = Callable[[str], None]


def package_root() -> Path:
    """The unzipped package: the folder holding this runtime's folder."""
    return Path(__file__).resolve().parents[1]


def read_manifest(root: Path) -> dict[str, Any]:
    """``package.json`` of the package at ``root``."""
    path = root / MANIFEST
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{MANIFEST}: missing; is {root} an unzipped semiocr package?") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{MANIFEST}: not valid JSON ({e})") from None


def _providers(manifest: dict[str, Any], cpu: bool) -> list[str]:
    if manifest.get("runtime") == "onnxruntime-gpu" and not cpu:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]  # onnxruntime falls back to the CPU
    return ["CPUExecutionProvider"]


def load_package_pipeline(root: Path, threads: int | None = None, cpu: bool = False):
    """The package's ``OcrPipeline`` (its two models, its thread count and text score unless ``threads``)."""
    from semiocr.runtime.onnx_runner import load_pipeline

    manifest = read_manifest(root)
    models = manifest["models"]
    return load_pipeline(root / models["det"]["file"], root / models["rec"]["file"],
                         threads=threads or manifest.get("threads") or None,
                         text_score=float(manifest.get("text_score", 0.5)), providers=_providers(manifest, cpu))


def reading(result: Any) -> list[dict[str, Any]]:
    """The lines of an ``OcrResult`` as stored in ``selftest/expected.json``: text, polygon, score."""
    return [{"text": ln.text, "polygon": ln.polygon, "score": ln.score} for ln in result.lines]


def _read_image(path: Path):
    from semiocr.runtime.images import decode_image_bytes

    return decode_image_bytes(path.read_bytes(), name=str(path))


def verify(root: Path, threads: int | None = None, cpu: bool = False, echo: Echo = print) -> int:
    """Checksums, then the self-test (see the module); 0 when the package is intact and reproduces its expected
    output, else 1 (each problem printed with the file it concerns)."""
    problems = check_sums(root)
    for p in problems:
        echo(f"FAILED {p}")
    if problems:
        echo(f"verify: {len(problems)} file problem(s); the package is damaged or was changed")
        return 1
    echo("checksums: every file intact")
    try:
        expected = json.loads((root / EXPECTED).read_text(encoding="utf-8"))
        pipeline = load_package_pipeline(root, threads, cpu)
    except (OSError, ValueError, KeyError) as e:
        echo(f"FAILED cannot load the package: {e}")
        return 1
    tol = float(expected.get("box_tolerance_px", BOX_TOLERANCE))
    failed = 0
    for item in expected["images"]:
        got = reading(pipeline(_read_image(root / item["image"])))
        diffs = compare_lines(item["lines"], got, tol)
        failed += bool(diffs)
        for d in diffs:
            echo(f"FAILED {item['image']}: {d}")
        if not diffs:
            echo(f"self-test {item['image']}: {len(got)} lines as expected")
    echo("verify: OK" if not failed else f"verify: {failed} self-test image(s) differ from the expected output")
    return 1 if failed else 0


def ocr(root: Path, images: Sequence[str], as_json: bool = False, threads: int | None = None, cpu: bool = False,
        echo: Echo = print) -> int:
    """Read each image: ``--json`` prints one JSON object per image, else ``path``, then ``text<TAB>score`` per
    line. 1 when an image cannot be read."""
    from semiocr.runtime.images import ImageDecodeError

    pipeline = load_package_pipeline(root, threads, cpu)
    status = 0
    for name in images:
        try:
            img = _read_image(Path(name))
        except (OSError, ImageDecodeError) as e:
            echo(f"error: {name}: {e}")
            status = 1
            continue
        result = pipeline(img)
        if as_json:
            echo(json.dumps({"image": name, **result.to_dict()}, ensure_ascii=False))
        else:
            echo(name)
            for line in result.lines:
                echo(f"{line.text}\t{line.score:.4f}")
    return status


def token_authorizer(token: str) -> Callable[[str | None], None]:
    """``authorize`` for ``create_ocr_app``: the bearer token must equal ``token`` (constant-time comparison)."""
    if not token:
        raise ValueError("the service token is empty")
    expected = token.encode("utf-8")

    def authorize(given: str | None) -> None:
        if given is None:
            raise PermissionError("a bearer token is required (Authorization: Bearer <token>)")
        if not hmac.compare_digest(given.encode("utf-8"), expected):
            raise PermissionError("unknown token")

    return authorize


def create_package_app(root: Path, token: str | None = None, threads: int | None = None, cpu: bool = False):
    """The OCR service over the package's models (open without ``token``)."""
    from semiocr.runtime.http import create_ocr_app

    manifest = read_manifest(root)
    info = {"package": manifest.get("name"), "created": manifest.get("created"),
            "models": {k: {"arch": v.get("arch"), "int8": v.get("int8", False)} for k, v in manifest["models"].items()}}
    return create_ocr_app(load_package_pipeline(root, threads, cpu),
                          authorize=token_authorizer(token) if token is not None else None,
                          name=str(manifest.get("name") or "semiocr package"), info=info)


def serve(root: Path, host: str, port: int, token_env: str | None, threads: int | None = None, cpu: bool = False,
          echo: Echo = print) -> int:
    """Run the service until interrupted; 2 when ``token_env`` names an unset or empty variable."""
    token = None
    if token_env:
        token = os.environ.get(token_env, "")
        if not token:
            echo(f"error: --token-env {token_env}: the variable is unset or empty")
            return 2
    import uvicorn

    app = create_package_app(root, token, threads, cpu)
    echo(f"serving on http://{host}:{port} ({'token required' if token else 'open: no token'}); Ctrl+C stops")
    uvicorn.run(app, host=host, port=port, log_level="info")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m semiocr_runtime", description="Offline OCR package.")
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--threads", type=int, default=None, help="ONNX Runtime threads (default: the package's)")
    common.add_argument("--cpu", action="store_true", help="run on the CPU even with onnxruntime-gpu")
    sub.add_parser("verify", parents=[common], help="check the files and reproduce the self-test")
    ocr_p = sub.add_parser("ocr", parents=[common], help="read images")
    ocr_p.add_argument("images", nargs="+")
    ocr_p.add_argument("--json", action="store_true", help="one JSON object per image")
    serve_p = sub.add_parser("serve", parents=[common], help="run the OCR HTTP service")
    serve_p.add_argument("--host", default="127.0.0.1")
    serve_p.add_argument("--port", type=int, default=8080)
    serve_p.add_argument("--token-env", default=None, help="environment variable holding the bearer token")
    return parser


def main(argv: Sequence[str] | None = None, root: Path | None = None) -> int:
    """Entry point of ``python -m semiocr_runtime``; returns the exit code."""
    args = _parser().parse_args(argv)
    root = root or package_root()
    try:
        if args.command == "verify":
            return verify(root, args.threads, args.cpu)
        if args.command == "ocr":
            return ocr(root, args.images, args.json, args.threads, args.cpu)
        return serve(root, args.host, args.port, args.token_env, args.threads, args.cpu)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
