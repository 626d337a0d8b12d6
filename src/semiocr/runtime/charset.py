"""Character sets in PaddleOCR's layout: class 0 is the CTC blank, then the dict order, then optional space."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from semiocr.runtime.resources import PPOCR_DEFAULT_DICT, resource_path

BLANK = "<blank>"


class CharsetError(ValueError):
    """A dict file or a charset description is invalid; the message names the file and line."""


class UnknownCharacterError(KeyError):
    """A label holds a character that the charset cannot encode."""

    def __init__(self, char: str, text: str):
        super().__init__(f"character {char!r} (U+{ord(char):04X}) of {text!r} is not in the charset")
        self.char = char
        self.text = text


@dataclass(frozen=True)
class Charset:
    """Ordered characters of a recognizer; ``classes[0]`` is the CTC blank.

    ``use_space`` appends the space as the last class (PaddleOCR's ``use_space_char``).
    """

    chars: tuple[str, ...]
    use_space: bool = True
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        seen: dict[str, int] = {}
        for i, ch in enumerate(self.chars):
            if len(ch) != 1:
                raise CharsetError(f"charset entry {i + 1} is {ch!r}: each entry must be exactly one character")
            if ch in seen:
                raise CharsetError(f"charset entry {i + 1} repeats {ch!r} (first at entry {seen[ch] + 1})")
            seen[ch] = i
        index = {ch: i + 1 for i, ch in enumerate(self.chars)}
        if self.use_space and " " not in index:
            index[" "] = len(self.chars) + 1
        object.__setattr__(self, "_index", index)

    # -- construction -------------------------------------------------------------------------------
    @classmethod
    def from_file(cls, path: str | Path, use_space: bool = True) -> Charset:
        """Read a ``dict.txt`` (one character per line, UTF-8, BOM and CRLF tolerated).

        Raises ``CharsetError`` naming the file and line for empty files, multi-character lines and
        duplicates.
        """
        path = Path(path)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise CharsetError(f"{path}: dict file not found") from None
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            line = raw[: e.start].count(b"\n") + 1
            raise CharsetError(f"{path}:{line}: not valid UTF-8 ({e.reason})") from None
        chars: list[str] = []
        first_line: dict[str, int] = {}
        for lineno, line in enumerate(text.split("\n"), start=1):
            line = line.rstrip("\r")
            if line == "":
                continue
            if len(line) != 1:
                raise CharsetError(f"{path}:{lineno}: {line!r} has {len(line)} characters; one per line expected")
            if line in first_line:
                raise CharsetError(f"{path}:{lineno}: duplicate character {line!r} (first on line {first_line[line]})")
            first_line[line] = lineno
            chars.append(line)
        if not chars:
            raise CharsetError(f"{path}: dict file is empty")
        return cls(tuple(chars), use_space=use_space)

    @classmethod
    def ppocr_default(cls) -> Charset:
        """The PP-OCR default Chinese dict (6623 characters + space = 6625 classes with blank)."""
        return cls.from_file(resource_path(PPOCR_DEFAULT_DICT), use_space=True)

    @classmethod
    def from_texts(cls, texts: Iterable[str], use_space: bool = True) -> Charset:
        """Charset of every character in ``texts`` (sorted by code point; space left to ``use_space``)."""
        found = sorted({c for t in texts for c in t if c != " " or not use_space})
        if not found:
            raise CharsetError("no characters found in the labels")
        return cls(tuple(found), use_space=use_space)

    # -- properties ---------------------------------------------------------------------------------
    @property
    def classes(self) -> list[str]:
        """All class names: blank, dict characters, then the space when it is appended."""
        out = [BLANK, *self.chars]
        if self.use_space and " " not in self.chars:
            out.append(" ")
        return out

    @property
    def num_classes(self) -> int:
        return len(self._index) + 1

    @property
    def fingerprint(self) -> str:
        """Short hash identifying the exact class layout (order matters)."""
        payload = "\n".join(self.classes).encode("utf-8")
        return hashlib.sha256(payload).hexdigest()[:16]

    def __contains__(self, ch: object) -> bool:
        return ch in self._index

    def __len__(self) -> int:
        return self.num_classes

    # -- encoding -----------------------------------------------------------------------------------
    def index(self, ch: str) -> int:
        return self._index[ch]

    def missing(self, text: str) -> list[str]:
        """Characters of ``text`` the charset cannot encode, in order of first appearance."""
        return list(dict.fromkeys(c for c in text if c not in self._index))

    def encode(self, text: str) -> list[int]:
        """Class indices of ``text``; raises ``UnknownCharacterError`` on the first unknown character."""
        try:
            return [self._index[c] for c in text]
        except KeyError as e:
            raise UnknownCharacterError(e.args[0], text) from None

    def decode(self, indices: Sequence[int]) -> str:
        """Text of class indices (no CTC collapsing; blanks are dropped)."""
        classes = self.classes
        return "".join(classes[i] for i in indices if i != 0)

    # -- serialisation (checkpoint / ONNX metadata) -------------------------------------------------
    def to_dict(self) -> dict:
        return {"chars": "".join(self.chars), "use_space": self.use_space, "fingerprint": self.fingerprint}

    @classmethod
    def from_dict(cls, d: dict) -> Charset:
        cs = cls(tuple(d["chars"]), use_space=bool(d.get("use_space", True)))
        if "fingerprint" in d and d["fingerprint"] != cs.fingerprint:
            raise CharsetError("charset metadata is corrupt: its fingerprint does not match its characters")
        return cs

    def write(self, path: str | Path) -> None:
        """Write the dict characters (not blank/space) one per line, UTF-8."""
        Path(path).write_text("".join(c + "\n" for c in self.chars), encoding="utf-8")
