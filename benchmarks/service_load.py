"""Bounded load test of the OCR service with a real HTTP load tool (locust, headless), on loopback: REQUESTS
requests at CONCURRENCY users, each posting one page image to ``/v1/ocr``. Reports p50/p99 latency, throughput,
errors and the service's resident memory (its process's RSS before and after).

The service is ``semiocr.runtime.http`` over ONNX Runtime models, started as its own process exactly as a
deployment runs (``--det``/``--rec``: ONNX files; default the PP-OCRv4 mobile files of rapidocr_onnxruntime).

    PYTHONPATH=src python benchmarks/service_load.py --images '../shared/data/wire_markers/images/full/*.jpg' \
        --requests 500 --concurrency 16 --threads 2
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

SERVER = """
import sys
import uvicorn
from semiocr.runtime.http import ServiceLimits, create_ocr_app
from semiocr.runtime.onnx_runner import load_pipeline
det, rec, port, threads, workers = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
app = create_ocr_app(load_pipeline(det, rec, threads=threads), limits=ServiceLimits(workers=workers, queue=64))
uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
"""

LOCUSTFILE = """
import os, random
from pathlib import Path
import gevent
from locust import HttpUser, constant, task
IMAGES = [Path(p).read_bytes() for p in os.environ["LOAD_IMAGES"].split(os.pathsep)]
LIMIT = int(os.environ["LOAD_REQUESTS"])
count = {"sent": 0, "done": 0}

class Client(HttpUser):
    wait_time = constant(0)

    @task
    def ocr(self):
        if count["sent"] >= LIMIT:  # every request is sent: wait for the last answers, then end the test
            if count["done"] >= LIMIT:
                self.environment.runner.quit()
            gevent.sleep(0.05)
            return
        count["sent"] += 1
        with self.client.post("/v1/ocr", files={"file": ("page.jpg", random.choice(IMAGES), "image/jpeg")},
                              catch_response=True) as r:
            if r.status_code != 200:
                r.failure(f"HTTP {r.status_code}: {r.text[:200]}")
        count["done"] += 1
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    from semiocr.core.models.pretrained import onnx_path

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", required=True, help="glob of page images")
    ap.add_argument("--limit", type=int, default=20, help="distinct images sent")
    ap.add_argument("--requests", type=int, default=500)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2, help="ONNX Runtime threads per model")
    ap.add_argument("--workers", type=int, default=1, help="inferences at a time in the service")
    ap.add_argument("--det", default=str(onnx_path("PP-OCRv4-mobile-det")))
    ap.add_argument("--rec", default=str(onnx_path("PP-OCRv4-mobile-rec")))
    args = ap.parse_args()
    images = sorted(glob.glob(args.images))[: args.limit]
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-c", SERVER, args.det, args.rec, str(port), str(args.threads),
                               str(args.workers)], start_new_session=True)
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)  # noqa: S310 - loopback
                break
            except OSError:
                time.sleep(0.2)
        rss_before = _rss_mb(server.pid)
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "locustfile.py").write_text(LOCUSTFILE)
            env = {**os.environ, "LOAD_IMAGES": os.pathsep.join(images), "LOAD_REQUESTS": str(args.requests)}
            t0 = time.perf_counter()
            subprocess.run(["locust", "-f", str(Path(tmp) / "locustfile.py"), "--headless", "-u",
                            str(args.concurrency), "-r", str(args.concurrency), "--host", f"http://127.0.0.1:{port}",
                            "--csv", str(Path(tmp) / "load"), "--only-summary", "-t", "30m"], env=env, check=False)
            wall = time.perf_counter() - t0
            rows = (Path(tmp) / "load_stats.csv").read_text().splitlines()
        header, agg = rows[0].split(","), [r for r in rows if r.split(",")[1] == "Aggregated"][0].split(",")
        stats = dict(zip(header, agg, strict=True))
        print(json.dumps({
            "requests": int(stats["Request Count"]), "failures": int(stats["Failure Count"]),
            "concurrency": args.concurrency, "threads": args.threads, "workers": args.workers,
            "p50_ms": float(stats["50%"]), "p99_ms": float(stats["99%"]),
            "mean_ms": float(stats["Average Response Time"]),
            "throughput_rps": round(int(stats["Request Count"]) / wall, 2), "wall_s": round(wall, 1),
            "rss_mb_before": round(rss_before, 1), "rss_mb_after": round(_rss_mb(server.pid), 1),
            "images": args.images, "distinct_images": len(images)}, indent=1))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
