"""The demo's last steps: the small model (with the detector) as an offline package that ``verify`` checks, then
as an OCR service that answers one request made with a freshly created token."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile

from semiocr.cli.demo_presets import DET_PRESET, DemoContext


def step_package(ctx: DemoContext) -> str:
    """``semiocr export package`` of the detector and the demo's small model; unzip it and run its ``verify``."""
    from semiocr.core.export.package import build_package

    zip_path = ctx.out / "package" / "semiocr-demo-ocr.zip"
    if not zip_path.is_file():
        build_package(DET_PRESET, ctx.path("small_best"), zip_path)
    folder = ctx.out / "package" / "unzipped"
    if not folder.is_dir():
        with zipfile.ZipFile(zip_path) as z:
            z.extractall(folder)
    check = subprocess.run([sys.executable, "-m", "semiocr_runtime", "verify"], cwd=folder, capture_output=True,
                           text=True)
    if check.returncode != 0:
        raise RuntimeError(f"the package's verify failed:\n{check.stdout}{check.stderr}")
    ctx.results.update(package=zip_path, package_dir=folder)
    size = zip_path.stat().st_size / 1e6
    return f"offline package {zip_path} ({size:.1f} MB): verify passed (checksums and self-test)"


def step_serve(ctx: DemoContext) -> str:
    """Deploy the same weights as an OCR service, create a token, send one page, stop the service."""
    import httpx

    from semiocr.core.data.detection import read_det_labels
    from semiocr.platform import deployments as dp
    from semiocr.platform.db import session
    from semiocr.platform.users import create_token, local_user

    with session() as s:
        user = local_user(s)
        user_name, token = user.name, create_token(s, user, "demo", ("ocr",)).secret
    row = dp.create(user_name, DET_PRESET, str(ctx.path("small_best")), name="demo")
    try:
        page = read_det_labels(ctx.data_root, "det_val.txt")[0].path
        r = httpx.post(f"{dp.url_of(row)}/v1/ocr", files={"file": (page.name, page.read_bytes())},
                       headers={"Authorization": f"Bearer {token}"}, timeout=120)
        r.raise_for_status()
        answer = r.json()
    finally:
        with session() as s:
            dp.stop(s, local_user(s), row.id)
    out = ctx.out / "service_answer.json"
    out.write_text(json.dumps({"request": f"POST {dp.url_of(row)}/v1/ocr {page}", "answer": answer},
                              ensure_ascii=False, indent=1), encoding="utf-8")
    texts = [ln["text"] for ln in answer["lines"]]
    ctx.results.update(service_answer=out, service_lines=texts)
    return (f"deployment {row.id} answered POST /v1/ocr with a new token: {len(texts)} lines "
            f"({' | '.join(texts[:3])}{' | …' if len(texts) > 3 else ''}); stopped again "
            f"(`semiocr deploy create --rec {ctx.path('small_best')}` starts it); answer in {out}")
