"""``semiocr dataset gen-dict``: build ``dict.txt`` from the characters of the train and val labels."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from semiocr.core.data.labels import DICT_FILE, TRAIN_FILE, VAL_FILE, DatasetError, read_labelled
from semiocr.runtime.charset import Charset


def collect_chars(root: str | Path, files: tuple[str, ...] = (TRAIN_FILE, VAL_FILE)) -> Counter:
    """Character counts over the labels of ``files`` (strict reader: a bad line raises ``DatasetError``)."""
    root = Path(root)
    counts: Counter = Counter()
    for name in files:
        if (root / name).is_file():
            counts.update(c for s in read_labelled(root, name) for c in (s.text or ""))
    if not counts:
        raise DatasetError(f"{root}: no labels found in {', '.join(files)}")
    return counts


def generate_dict(root: str | Path, out: str | Path | None = None, use_space: bool = True,
                  base: Charset | None = None, overwrite: bool = False) -> tuple[Charset, Path]:
    """Write ``dict.txt`` (default ``root/dict.txt``) holding every label character, sorted by code point.

    With ``use_space`` the space is left to the model's space option and not written. With ``base`` (e.g. a
    pretrained model's charset) the base order is kept and new characters are appended, so fine-tuning
    keeps the CTC rows of the characters both share. Refuses to overwrite an existing file unless asked.
    """
    root = Path(root)
    out = Path(out) if out is not None else root / DICT_FILE
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} already exists; pass overwrite=True (--force) to replace it")
    chars = collect_chars(root)
    found = sorted(c for c in chars if not (use_space and c == " "))
    if base is not None:
        known = set(base.chars)
        charset = Charset(tuple(base.chars) + tuple(c for c in found if c not in known), use_space=use_space)
    else:
        charset = Charset(tuple(found), use_space=use_space)
    charset.write(out)
    return charset, out
