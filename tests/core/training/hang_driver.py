"""Test helper (not a test): train like ``semiocr train rec``, but freeze right after the ``latest`` checkpoint
of step N so that the test can SIGKILL the process at a known mid-epoch point.

usage: python hang_driver.py CONFIG.yaml HANG_AFTER_STEP MARKER_FILE
"""

import sys
import time
from pathlib import Path

from semiocr.core.training.config import load_config
from semiocr.core.training.sinks import JsonlSink, MultiSink
from semiocr.core.training.supervised import train_supervised


def main() -> None:
    cfg = load_config(sys.argv[1])
    hang_step, marker = int(sys.argv[2]), Path(sys.argv[3])

    def freeze(kind, payload):
        if kind == "checkpoint" and payload["path"].endswith("latest.pt") and payload["step"] == hang_step:
            marker.write_text(str(hang_step))
            time.sleep(600)

    train_supervised(cfg, sink=MultiSink(JsonlSink(Path(cfg.output_dir) / "metrics.jsonl"), freeze))


if __name__ == "__main__":
    main()
