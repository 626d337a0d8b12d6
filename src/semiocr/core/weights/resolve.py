"""The one resolver of weight names: every command and config field that takes weights accepts the same three
forms, plus whatever the platform registers (marked nicknames).

Rule, in order:

1. an existing **file**: that checkpoint;
2. an existing **directory** (a run): the first of ``checkpoints/best.pt`` (a training run), ``small_best.pt``
   then ``large_best.pt`` (an LMSSL run: its final model), ``best.pt``, ``checkpoints/latest.pt`` (a run
   stopped before its first evaluation);
3. a **preset** name (``semiocr.core.models.pretrained.list_pretrained()``, e.g. ``PP-OCRv4-mobile-rec``);
4. each registered **extension** (``register_resolver``): e.g. the platform's marked nicknames.

Resuming is not weights loading: ``resume_checkpoint`` takes a file or a run directory's ``latest.pt``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from semiocr.core.weights.checkpoint import CHECKPOINT_DIR, CheckpointError

#: candidates inside a run directory, in the order the resolver takes them
RUN_DIR_CANDIDATES = (f"{CHECKPOINT_DIR}/best.pt", "small_best.pt", "large_best.pt", "best.pt",
                      f"{CHECKPOINT_DIR}/latest.pt")

Resolver = Callable[[str], Path | None]
_EXTENSIONS: dict[str, Resolver] = {}


@dataclass(frozen=True)
class WeightsRef:
    """Resolved weights: a preset (``path`` None) or a checkpoint file; ``spec`` is what the user wrote."""

    spec: str
    preset: str | None = None
    path: Path | None = None

    def describe(self) -> str:
        if self.preset is not None:
            return f"preset {self.preset}"
        return str(self.path) if str(self.path) == self.spec else f"{self.spec} ({self.path})"


def register_resolver(name: str, resolver: Resolver) -> None:
    """Add (or replace) an extension that maps a name to a checkpoint file, or returns None when it does not
    know the name. The platform registers marked nicknames here; core never imports the platform."""
    _EXTENSIONS[name] = resolver


def unregister_resolver(name: str) -> None:
    _EXTENSIONS.pop(name, None)


def is_preset(spec: str | Path) -> bool:
    """Whether ``spec`` names a pretrained preset (and no file or directory of that name exists)."""
    from semiocr.core.models.pretrained import list_pretrained

    return str(spec) in list_pretrained() and not Path(spec).exists()


def run_dir_weights(directory: Path) -> Path:
    """The weights a run directory stands for (rule 2 above)."""
    for rel in RUN_DIR_CANDIDATES:
        if (directory / rel).is_file():
            return directory / rel
    raise CheckpointError(f"{directory}: run directory holds no weights (looked for {', '.join(RUN_DIR_CANDIDATES)})")


def resolve_weights(spec: str | Path) -> WeightsRef:
    """Resolve a weights argument (file, run directory, preset, extension name) or raise ``CheckpointError``."""
    text = str(spec).strip()
    if not text:
        raise CheckpointError("empty weights name")
    p = Path(text).expanduser()
    if p.is_file():
        return WeightsRef(text, path=p)
    if p.is_dir():
        return WeightsRef(text, path=run_dir_weights(p))
    if is_preset(text):
        return WeightsRef(text, preset=text)
    for resolver in list(_EXTENSIONS.values()):
        found = resolver(text)
        if found is not None:
            return WeightsRef(text, path=Path(found))
    from semiocr.core.models.pretrained import list_pretrained

    extra = f", {', '.join(_EXTENSIONS)}" if _EXTENSIONS else ""
    raise CheckpointError(f"{text}: weights not found: not a checkpoint file, run directory or preset "
                          f"({', '.join(list_pretrained())}){extra}")


def resume_checkpoint(spec: str | Path) -> Path:
    """What ``resume`` continues from: a checkpoint file, or a run directory's ``checkpoints/latest.pt``."""
    p = Path(spec).expanduser()
    if p.is_dir():
        for cand in (p / CHECKPOINT_DIR / "latest.pt", p / "latest.pt"):
            if cand.is_file():
                return cand
        raise CheckpointError(f"{p}: run directory has no {CHECKPOINT_DIR}/latest.pt to resume from")
    if not p.is_file():
        raise CheckpointError(f"{p}: checkpoint to resume from not found")
    return p
