"""``python -m semiocr.platform.serve DEPLOYMENT_ID``: the process of one OCR deployment (started by
``semiocr deploy create``): loads its ONNX models once and serves ``semiocr.runtime.http`` with the owner's tokens."""

from __future__ import annotations

import argparse

from semiocr.platform.db import session
from semiocr.platform.deployments import authorizer, folder_of
from semiocr.platform.tables import Deployment
from semiocr.runtime.http import ServiceLimits, create_ocr_app
from semiocr.runtime.onnx_runner import load_pipeline


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m semiocr.platform.serve", description=__doc__)
    ap.add_argument("deployment", type=int)
    ap.add_argument("--threads", type=int, default=1, help="ONNX Runtime intra-op threads per model")
    args = ap.parse_args(argv)
    with session() as s:
        dep = s.get(Deployment, args.deployment)
        host, port, name, det, rec = dep.host, dep.port, dep.name, dep.det, dep.rec
    models = folder_of(args.deployment) / "models"
    pipeline = load_pipeline(models / "det.onnx", models / "rec.onnx", threads=args.threads)
    app = create_ocr_app(pipeline, authorize=authorizer(args.deployment), limits=ServiceLimits(), name=name,
                         info={"deployment": args.deployment, "det": det, "rec": rec})
    import uvicorn

    uvicorn.run(app, host=host, port=port, log_level="warning")


if __name__ == "__main__":
    main()
