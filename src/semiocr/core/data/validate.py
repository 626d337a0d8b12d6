"""``semiocr dataset check``: validate an MSTextRecLMSSLDataset directory, collecting every problem.

Errors (block training / registration) and warnings (reported, do not block) name the file and line.
Checks: required files; exactly one TAB per labelled line; relative paths that stay inside the dataset;
every image exists and decodes safely; UTF-8 (BOM/CRLF tolerated but reported); duplicates; train/val
overlap (same path = error, byte-identical image = warning); characters missing from ``dict.txt``; labels
longer than ``max_text_length`` (warning) or needing more CTC frames than the image yields (error); characters
of ``val.txt`` that fewer than ``min_train_lines_per_char`` train lines hold (warning); the
detection files ``det_train.txt`` / ``det_val.txt`` when present. ``test.txt`` is never read here.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from semiocr.core.data.detection import check_det_labels
from semiocr.core.data.images import DEFAULT_MAX_PIXELS, ImageError, decode_image_info
from semiocr.core.data.labels import (
    DICT_FILE,
    TRAIN_FILE,
    UNLABELED_FILE,
    VAL_FILE,
    DatasetError,
    read_text_lines,
    resolve_inside,
)
from semiocr.core.data.report import DatasetReport
from semiocr.runtime.charset import Charset, CharsetError

REQUIRED_FILES = (TRAIN_FILE, VAL_FILE, UNLABELED_FILE, DICT_FILE)
DET_FILES = ("det_train.txt", "det_val.txt")
MAX_FILE_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class CheckOptions:
    """Knobs of the validator. Frames per image = ``max(min_width, height*w/h) // stride`` (48x320 → 40)."""

    use_space: bool = True
    max_text_length: int = 25  # PaddleOCR's default ``max_text_length``; longer labels get a warning
    height: int = 48
    min_width: int = 320
    stride: int = 8
    check_images: bool = True
    max_pixels: int = DEFAULT_MAX_PIXELS
    det_files: tuple[str, ...] = DET_FILES
    recognition: bool = True  # False: a detection-only dataset (only ``det_files`` are read)
    # characters of val.txt labels found in fewer train.txt lines than this get a warning: the model rarely
    # learns to output them, and pseudo-labels cannot teach what the teacher never writes (BENCHMARKS.md)
    min_train_lines_per_char: int = 3


@dataclass
class Line:
    """One parsed label-file line."""

    rel: str
    path: Path
    text: str | None
    where: str


@dataclass
class _Parsed:
    splits: dict[str, list[Line]] = field(default_factory=dict)
    charset: Charset | None = None


def ctc_frames_needed(text: str) -> int:
    """Frames CTC needs for ``text``: one per character plus a blank between equal neighbours."""
    return len(text) + sum(1 for a, b in zip(text, text[1:], strict=False) if a == b)


def frames_available(width: int, height: int, opt: CheckOptions) -> int:
    """Output frames for an image of ``width x height`` resized to ``opt.height`` (min width padded)."""
    resized = max(opt.min_width, int(round(opt.height * width / max(height, 1))))
    return resized // opt.stride


def _read_lines(path: Path, rep: DatasetReport) -> list[tuple[int, str]] | None:
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        rep.warn("bom", str(path), "starts with a UTF-8 BOM (tolerated)")
    if b"\r\n" in raw:
        rep.warn("crlf", str(path), "uses CRLF line endings (tolerated)")
    try:
        return read_text_lines(path)
    except DatasetError as e:
        where, _, msg = str(e).partition(": ")
        rep.error("encoding", where, msg + " — the whole file was skipped; save it as UTF-8")
        return None


def _parse_split(root: Path, name: str, labelled: bool, rep: DatasetReport) -> list[Line]:
    path = root / name
    lines = _read_lines(path, rep)
    if lines is None:
        return []
    out = []
    for n, line in lines:
        where = f"{path}:{n}"
        if labelled and line.count("\t") != 1:
            rep.error("tab", where, f"expected exactly one TAB between path and label, found "
                      f"{line.count(chr(9))} in {line!r}")
            continue
        rel, text = line.split("\t", 1) if labelled else (line.split("\t")[0], None)
        try:
            if not rel:
                raise DatasetError(f"{where}: empty image path")
            out.append(Line(rel, resolve_inside(root, rel, where), text, where))
        except DatasetError as e:
            rep.error("path", where, str(e).removeprefix(f"{where}: "))
    if not lines and labelled:
        rep.error("empty_file", str(path), "has no lines (no labelled samples)")
    elif not lines:
        rep.warn("empty_pool", str(path), "has no lines: no unlabelled pool, semi-supervised rounds have nothing "
                 "to pseudo-label")
    return out


def _required(root: Path, opt: CheckOptions, rep: DatasetReport) -> bool:
    if not root.is_dir():
        rep.error("missing_dir", str(root), "dataset directory not found")
        return False
    if not opt.recognition:
        if not any((root / name).is_file() for name in opt.det_files):
            rep.error("missing_file", str(root), f"no detection label file ({', '.join(opt.det_files)})")
        return True
    for name in REQUIRED_FILES:
        if not (root / name).is_file():
            rep.error("missing_file", str(root / name), "required file is missing")
    return True


def _load_charset(root: Path, opt: CheckOptions, rep: DatasetReport) -> Charset | None:
    if not (root / DICT_FILE).is_file():
        return None
    try:
        return Charset.from_file(root / DICT_FILE, use_space=opt.use_space)
    except CharsetError as e:
        rep.error("dict", str(root / DICT_FILE), str(e).removeprefix(f"{root / DICT_FILE}").lstrip(": "))
        return None


def _check_duplicates(parsed: _Parsed, rep: DatasetReport) -> None:
    first: dict[str, dict[Path, Line]] = {}
    for split, lines in parsed.splits.items():
        seen: dict[Path, Line] = {}
        for ln in lines:
            if ln.path in seen:
                prev = seen[ln.path]
                extra = f" with a different label ({prev.text!r} vs {ln.text!r})" if prev.text != ln.text else ""
                rep.warn("duplicate", ln.where, f"image {ln.rel!r} listed again{extra} (first at {prev.where})")
            else:
                seen[ln.path] = ln
        first[split] = seen
    for a, b, level in (("train", "val", "error"), ("train", "unlabeled", "warning"), ("val", "unlabeled", "warning")):
        for p in sorted(set(first.get(a, {})) & set(first.get(b, {}))):
            la, lb = first[a][p], first[b][p]
            msg = f"image {lb.rel!r} is in both {a} ({la.where}) and {b}"
            (rep.error if level == "error" else rep.warn)(f"overlap_{a}_{b}", lb.where, msg)


def _check_unicode(text: str, where: str, rep: DatasetReport) -> None:
    """Warn about labels that are not NFC (é as e + accent) or hold invisible/odd space characters."""
    if unicodedata.normalize("NFC", text) != text:
        rep.warn("not_nfc", where, f"label {text!r} is not NFC-normalised (e.g. a letter + combining accent)")
    odd = sorted({c for c in text if c != " " and unicodedata.category(c) in ("Cf", "Cc", "Zs", "Zl", "Zp")})
    if odd:
        names = ", ".join(f"U+{ord(c):04X} {unicodedata.name(c, '?')}" for c in odd)
        rep.warn("invisible_char", where, f"label {text!r} holds invisible or unusual space characters: {names}")


def _check_labels(parsed: _Parsed, opt: CheckOptions, rep: DatasetReport) -> None:
    missing: dict[str, list[str]] = defaultdict(list)
    counts: Counter = Counter()
    too_long: list[Line] = []
    for split in ("train", "val"):
        for ln in parsed.splits.get(split, []):
            text = ln.text or ""
            if not text.strip():
                rep.error("empty_label", ln.where, "empty label")
                continue
            if text != text.strip():
                rep.warn("whitespace", ln.where, f"label {text!r} has leading/trailing whitespace")
            _check_unicode(text, ln.where, rep)
            if len(text) > opt.max_text_length:
                too_long.append(ln)
            rep.label_lengths.append(len(text))
            rep.char_freq.update(text)
            if parsed.charset is not None:
                for ch in parsed.charset.missing(text):
                    missing[ch].append(ln.where)
                    counts[ch] += text.count(ch)
    if too_long:
        worst = max(too_long, key=lambda ln: len(ln.text or ""))
        rep.warn("label_too_long", too_long[0].where, f"{len(too_long)} labels are longer than max_text_length "
                 f"{opt.max_text_length} (longest: {len(worst.text or '')} at {worst.where}), e.g. "
                 + ", ".join(ln.where.rsplit("/", 1)[-1] for ln in too_long[:5]))
    for ch, wheres in sorted(missing.items(), key=lambda kv: -counts[kv[0]]):
        examples = ", ".join(w.rsplit("/", 1)[-1] for w in wheres[:5])
        rep.error("char_not_in_dict", wheres[0], f"character {ch!r} (U+{ord(ch):04X}) is not in {DICT_FILE}: "
                  f"{counts[ch]} occurrences in {len(wheres)} lines, e.g. {examples}")


def _check_rare_chars(parsed: _Parsed, opt: CheckOptions, rep: DatasetReport) -> None:
    """Warn about each character that ``val.txt`` uses but fewer than ``min_train_lines_per_char`` train lines
    hold (most used in val first): where labelling more lines pays most."""
    train_lines: Counter = Counter()
    for ln in parsed.splits.get("train", []):
        train_lines.update(set(ln.text or ""))
    val_lines: dict[str, list[Line]] = defaultdict(list)
    for ln in parsed.splits.get("val", []):
        for ch in dict.fromkeys(ln.text or ""):
            if train_lines[ch] < opt.min_train_lines_per_char:
                val_lines[ch].append(ln)
    for ch, lines in sorted(val_lines.items(), key=lambda kv: -len(kv[1])):
        rep.warn("rare_in_train", lines[0].where, f"character {ch!r} (U+{ord(ch):04X}): {len(lines)} lines of "
                 f"{VAL_FILE} hold it, only {train_lines[ch]} of {TRAIN_FILE} (fewer than "
                 f"{opt.min_train_lines_per_char}): the model will rarely output it; label more lines with it")


@dataclass
class _ImageResult:
    size: tuple[int, int] | None = None  # (width, height)
    digest: str = ""


def _check_one_image(root: Path, path: Path, where: str, opt: CheckOptions, rep: DatasetReport,
                     notes: dict[str, list[str]]) -> _ImageResult:
    rel = path.relative_to(root.resolve()).as_posix() if path.is_relative_to(root.resolve()) else str(path)
    if not path.is_file():
        rep.error("image_missing", where, f"image {rel!r} not found")
        return _ImageResult()
    nbytes = path.stat().st_size
    if nbytes > MAX_FILE_BYTES:
        rep.error("image_too_large", where, f"image file is {nbytes:,} bytes, over {MAX_FILE_BYTES:,}")
        return _ImageResult()
    data = path.read_bytes()
    digest = hashlib.sha1(data).hexdigest()
    if not opt.check_images:
        return _ImageResult(None, digest)
    try:
        _, info = decode_image_info(data, rel, opt.max_pixels)
    except ImageError as e:
        rep.error("image_bad", where, str(e))
        return _ImageResult(None, digest)
    for note in info.notes:
        notes[note].append(where)
    return _ImageResult((info.width, info.height), digest)


def _check_images(root: Path, parsed: _Parsed, det_lines: dict[Path, str], opt: CheckOptions,
                  rep: DatasetReport, progress: Callable[[int, int], None] | None) -> dict[Path, _ImageResult]:
    todo: dict[Path, str] = {}
    for lines in parsed.splits.values():
        for ln in lines:
            todo.setdefault(ln.path, ln.where)
    for p, where in det_lines.items():
        todo.setdefault(p, where)
    notes: dict[str, list[str]] = defaultdict(list)
    results = {}
    for i, (p, where) in enumerate(todo.items(), start=1):
        results[p] = _check_one_image(root, p, where, opt, rep, notes)
        if progress is not None:
            progress(i, len(todo))
    for note, wheres in sorted(notes.items()):
        rep.warn(f"image_{note.replace('-', '_')}", wheres[0], f"{len(wheres)} images are {note} (converted to "
                 f"3-channel 8-bit BGR on load), e.g. " + ", ".join(w.rsplit("/", 1)[-1] for w in wheres[:3]))
    rep.counts["images_checked"] = len(todo)
    return results


def _check_frames(parsed: _Parsed, images: dict[Path, _ImageResult], opt: CheckOptions, rep: DatasetReport) -> None:
    for split in ("train", "val"):
        for ln in parsed.splits.get(split, []):
            res = images.get(ln.path)
            if res is None or res.size is None or not ln.text:
                continue
            need, have = ctc_frames_needed(ln.text), frames_available(*res.size, opt)
            if need > have:
                rep.error("label_exceeds_frames", ln.where, f"label needs {need} CTC frames but a {res.size[0]}x"
                          f"{res.size[1]} image gives {have} at height {opt.height}, stride {opt.stride}")
    for split in parsed.splits:
        for ln in parsed.splits[split]:
            res = images.get(ln.path)
            if res is not None and res.size is not None:
                rep.aspect_ratios.append(round(res.size[0] / res.size[1], 4))


def _check_content_overlap(parsed: _Parsed, images: dict[Path, _ImageResult], rep: DatasetReport) -> None:
    by_digest: dict[str, Line] = {}
    for ln in parsed.splits.get("train", []):
        res = images.get(ln.path)
        if res is not None and res.digest:
            by_digest.setdefault(res.digest, ln)
    for ln in parsed.splits.get("val", []):
        res = images.get(ln.path)
        other = by_digest.get(res.digest) if res is not None and res.digest else None
        if other is not None and other.path != ln.path:
            rep.warn("overlap_content", ln.where, f"image {ln.rel!r} is byte-identical to train image "
                     f"{other.rel!r} ({other.where})")


def _det_labels(root: Path, opt: CheckOptions, rep: DatasetReport) -> list:
    """Parse detection files that exist; returns their check results (images checked with the rest)."""
    out = []
    for name in opt.det_files:
        if (root / name).is_file():
            res = check_det_labels(root, name)
            for where, msg in res.errors:
                rep.error("det", where, msg.removeprefix(f"{where}: "))
            out.append((name, res))
    return out


def validate_dataset(root: str | Path, options: CheckOptions | None = None,
                     progress: Callable[[int, int], None] | None = None) -> DatasetReport:
    """Validate dataset directory ``root``; never raises on bad content, returns a ``DatasetReport``.
    ``progress(done, total)`` is called after each image is decoded."""
    opt = options or CheckOptions()
    root = Path(root)
    rep = DatasetReport(str(root), settings={k: v for k, v in vars(opt).items() if k != "det_files"})
    if not _required(root, opt, rep):
        return rep
    parsed = _Parsed(charset=_load_charset(root, opt, rep) if opt.recognition else None)
    for split, name, labelled in (("train", TRAIN_FILE, True), ("val", VAL_FILE, True),
                                  ("unlabeled", UNLABELED_FILE, False)):
        if opt.recognition and (root / name).is_file():
            parsed.splits[split] = _parse_split(root, name, labelled, rep)
    _check_duplicates(parsed, rep)
    _check_labels(parsed, opt, rep)
    _check_rare_chars(parsed, opt, rep)
    dets = _det_labels(root, opt, rep)
    det_paths = {s.path: s.source for _, res in dets for s in res.samples}
    images = _check_images(root, parsed, det_paths, opt, rep, progress)
    _check_frames(parsed, images, opt, rep)
    _check_content_overlap(parsed, images, rep)
    _finish_det(root, dets, images, rep)
    rep.counts = {"train": len(parsed.splits.get("train", [])), "val": len(parsed.splits.get("val", [])),
                  "unlabeled": len(parsed.splits.get("unlabeled", [])),
                  "dict": len(parsed.charset.chars) if parsed.charset else 0, **rep.counts}
    return rep


def _finish_det(root: Path, dets: list, images: dict[Path, _ImageResult], rep: DatasetReport) -> None:
    """Re-check detection regions against the decoded image sizes; count images and regions."""
    sizes = {p: r.size for p, r in images.items() if r.size is not None}
    for name, res in dets:
        full = check_det_labels(root, name, image_size=sizes)
        for where, msg in full.warnings:
            rep.warn("det", where, msg)
        stem = name.removesuffix(".txt")
        rep.counts[stem] = len(res.samples)
        rep.counts[f"{stem}_regions"] = sum(len(s.polygons) for s in res.samples)
        rep.counts[f"{stem}_ignored"] = sum(sum(s.ignore) for s in res.samples)
