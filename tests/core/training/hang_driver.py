"""Test helper (not a test): train like ``semiocr train rec``, but freeze right after the ``latest`` checkpoint
of step N so that the test can SIGKILL the process at a known mid-epoch point.

usage: python hang_driver.py CONFIG.yaml HANG_AFTER_STEP MARKER_FILE
"""

import sys
import time
from pathlib import Path

from semiocr.core.events import CheckpointSaved, Event
from semiocr.core.job import load_job_config, run_job


def main() -> None:
    cfg = load_job_config(sys.argv[1], kind="rec")
    hang_step, marker = int(sys.argv[2]), Path(sys.argv[3])

    def freeze(event: Event) -> None:
        if isinstance(event, CheckpointSaved) and event.path.endswith("latest.pt") and event.step == hang_step:
            marker.write_text(str(hang_step))
            time.sleep(600)

    run_job(cfg, sink=freeze)


if __name__ == "__main__":
    main()
