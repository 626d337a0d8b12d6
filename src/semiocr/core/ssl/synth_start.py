"""Synthetic start data: lines rendered from the dataset's own characters (``core/data/synth.py``), used to
pre-train a recognizer when no pretrained weights fit the dict, so that the supervised warm-up on a few
labelled lines starts from a model that already reads glyphs."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

from semiocr.core.data.labels import Sample, read_labelled
from semiocr.core.data.synth import SynthConfig, generate_dataset
from semiocr.core.events import never
from semiocr.core.ssl.config import SynthPretrainCfg
from semiocr.runtime.charset import Charset


def synth_config(charset: Charset, labelled: Sequence[Sample], cfg: SynthPretrainCfg, seed: int) -> SynthConfig:
    """Generator settings: the dict's characters, label lengths like the labelled lines (unless set)."""
    lengths = [len(s.text) for s in labelled if s.text] or [1, 10]
    alphabet = "".join(charset.chars) + (" " if charset.use_space and " " not in charset.chars else "")
    return SynthConfig(n_train=cfg.lines, n_val=cfg.val_lines, n_test=0, n_unlabeled=0, alphabet=alphabet,
                       min_len=cfg.min_len or min(lengths), max_len=max(cfg.max_len or max(lengths), 1),
                       space_prob=0.25 if " " in alphabet else 0.0, seed=seed)


def synth_samples(root: Path, charset: Charset, labelled: Sequence[Sample], cfg: SynthPretrainCfg, seed: int,
                  should_stop: Callable[[], bool] = never) -> tuple[list[Sample], list[Sample]]:
    """Generate (once; reused on resume) and read the synthetic train / val lines under ``root``; a stop request
    while rendering leaves no partial folder behind (rendering starts again on resume)."""
    if not (root / "val.txt").is_file():
        tmp = root.with_name(root.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        generate_dataset(tmp, synth_config(charset, labelled, cfg, seed), should_stop)
        shutil.rmtree(root, ignore_errors=True)
        tmp.rename(root)
    train = [s for s in read_labelled(root, "train.txt") if not charset.missing(s.text or "")]
    val = [s for s in read_labelled(root, "val.txt") if not charset.missing(s.text or "")]
    return train, val
