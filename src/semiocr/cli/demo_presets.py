"""Sizes and settings of the demo (``semiocr demo``): the generated dataset, the LMSSL run config, and the
``DemoContext`` its steps share."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from semiocr.core.data.synth import SynthConfig

DEMO_DATASET = "demo"
DET_PRESET = "PP-OCRv4-mobile-det"
REC_PRESET = "PP-OCRv4-mobile-rec"
LARGE_PRESET = "PP-OCRv6-small-rec"


def _optim(epochs: int, warmup_steps: int, lr: float, batch_size: int = 16) -> dict[str, Any]:
    return {"epochs": epochs, "batch_size": batch_size, "learning_rate": lr, "warmup_steps": warmup_steps,
            "eval_interval": 1}


def lmssl_preset(epochs: tuple[int, int, int], warmup_steps: tuple[int, int, int], rounds: int = 1,
                 lr: float = 5e-4) -> dict[str, Any]:
    """LMSSL run config (``LmsslConfig`` fields, without ``data.root`` / ``output_dir``) sized for a 2-core CPU.

    The large model is PP-OCRv6 small (5.3 M parameters, imported), the small one PP-OCRv4 mobile (2.7 M, the
    seed's small model), both from their imported weights (their dicts cover the generated alphabet; each CTC
    head is rebuilt for the dataset's dict keeping those rows). The large model fine-tunes on the labelled lines,
    then learns from its own confident pseudo-labels (``rounds``); its final pseudo-labels teach the small one.
    Frame-level KL is off (``kd_weight: 0``): a teacher forward pass per student step would double the CPU time
    of distillation.
    Batches of 16 (peak memory 6.7 GB; batches of 8 halve it, but a loss spike in a round then blew up the BN
    running variances and the round's val accuracy fell to 0). The EMA (decay 0.95, about the last 20 steps)
    suits rounds of a few dozen steps, which start at full decay. ``lr`` is the AdamW rate of the warm-up and
    distillation (rounds use 0.6 of it); a run of only a few steps needs a small one, as Adam's first steps move
    every imported weight by about ``lr``. ``epochs`` and ``warmup_steps`` are per stage: large warm-up, each
    round, distillation (a warm-up of about half an epoch each).
    """
    large = {"arch": LARGE_PRESET, "pretrained": LARGE_PRESET}
    small = {"arch": REC_PRESET, "pretrained": REC_PRESET}
    return {
        "mode": "joint", "device": "auto", "seed": 0,
        "data": {"use_space": True, "max_width": 640, "eval_batch_size": 32},
        "teacher": {"model": large, "warmup": _optim(epochs[0], warmup_steps[0], lr), "rounds": rounds,
                    "round_optim": _optim(epochs[1], warmup_steps[1], round(0.6 * lr, 12)),
                    "pseudo": {"threshold": 0.9, "top_fraction_start": 0.6, "top_fraction_step": 0.2},
                    "labelled_share": 0.33, "ema_decay": 0.95, "ema_warmup_steps": 20},
        "student": {"model": small, "optim": _optim(epochs[2], warmup_steps[2], lr), "warmup_supervised": False,
                    "pseudo": {"threshold": 0.95, "top_fraction_start": 0.6}, "labelled_share": 0.3,
                    "kd_weight": 0.0},
    }


@dataclass(frozen=True)
class DemoPreset:
    """How big the demo is: the generated dataset, the LMSSL run config and the number of pages read."""

    name: str
    synth: SynthConfig
    lmssl: Mapping[str, Any]
    ocr_pages: int = 2


DEMO = DemoPreset("demo", SynthConfig(n_train=200, n_val=100, n_test=100, n_unlabeled=500, pages_train=10,
                                      pages_val=5, seed=0), lmssl_preset((2, 1, 2), (6, 14, 14)))
QUICK = DemoPreset("quick", SynthConfig(n_train=32, n_val=16, n_test=16, n_unlabeled=32, pages_train=1, pages_val=1,
                                        seed=0), lmssl_preset((1, 1, 1), (1, 1, 1), lr=1e-4), ocr_pages=1)
PRESETS = {p.name: p for p in (DEMO, QUICK)}


@dataclass
class DemoContext:
    """State shared by the demo steps; steps add what later steps need to ``results``."""

    out: Path
    synth: SynthConfig = DEMO.synth
    preset: DemoPreset = DEMO
    results: dict[str, object] = field(default_factory=dict)

    @property
    def dataset_dir(self) -> Path:
        return self.out / "dataset"

    @property
    def data_root(self) -> Path:
        """The registered copy of the dataset when the register step ran, else the generated folder."""
        ds = self.results.get("dataset")
        return Path(ds.path) if ds is not None else self.dataset_dir

    @property
    def run_dir(self) -> Path:
        return self.out / "lmssl_run"

    def path(self, key: str) -> Path:
        """An output path recorded by an earlier step; a clear error when that step did not run."""
        if key not in self.results:
            raise RuntimeError(f"the demo has no {key!r} yet: run the step that makes it first")
        return Path(self.results[key])  # type: ignore[arg-type]


