"""What an export is checked on, and the check: the same inputs through PyTorch and through ONNX Runtime.

Recognition inputs: generated printed lines of varied widths, each alone (``[1, 3, 48, W]``, W from 320 to
about 1500) and all together (a padded batch), plus each image of ``--check-images`` (a line crop). Detection
inputs: a generated page at the network size of the weights' input spec (e.g. ``[1, 3, 736, 992]``), a batch of
two smaller crops of it (dynamic batch and sides), plus each image of ``--check-images`` (a page). All inputs go
through the runtime's one preprocessing, as in use.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from semiocr.core.export.samples import sample_lines, sample_page
from semiocr.runtime.det_preprocess import config_from_input_spec, prepare_page, preprocess_det
from semiocr.runtime.rec_preprocess import REC_HEIGHT, preprocess_batch

Runner = Callable[[np.ndarray], np.ndarray]
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
MAX_CHECK_IMAGES = 16  # images of --check-images used (sorted by name)


@dataclass(frozen=True)
class CheckInput:
    """One network input the export is checked on."""

    name: str
    x: np.ndarray  # float32 NCHW, preprocessed


@dataclass
class CheckResult:
    """PyTorch vs ONNX Runtime on one input: shapes and the largest absolute difference of the outputs, with the
    graph run as written (``max_diff``) and with ONNX Runtime's graph optimisations, as the runtime runs it
    (``max_diff_optimized``)."""

    name: str
    input_shape: list[int]
    output_shape: list[int]
    max_diff: float
    max_diff_optimized: float

    def to_dict(self) -> dict:
        return {"name": self.name, "input_shape": self.input_shape, "output_shape": self.output_shape,
                "max_diff": self.max_diff, "max_diff_optimized": self.max_diff_optimized}


def check_image_files(directory: str | Path) -> list[Path]:
    """Image files of ``directory`` (sorted, at most ``MAX_CHECK_IMAGES``); an error names the directory."""
    root = Path(directory)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: check-images directory not found")
    files = sorted(p for p in root.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise FileNotFoundError(f"{root}: no images ({', '.join(IMAGE_SUFFIXES)}) to check the export on")
    return files[:MAX_CHECK_IMAGES]


def _user_images(directory: str | Path | None) -> list[tuple[str, np.ndarray]]:
    if directory is None:
        return []
    from semiocr.core.data.images import read_image

    return [(str(p), read_image(p)) for p in check_image_files(directory)]


def rec_check_inputs(check_images: str | Path | None = None, n_lines: int = 6) -> list[CheckInput]:
    """Recognition check inputs (see the module)."""
    lines = [img for img, _ in sample_lines(n_lines, seed=7)]
    out = [CheckInput(f"generated line {i} ({img.shape[1]}x{img.shape[0]} px)", preprocess_batch([img], REC_HEIGHT))
           for i, img in enumerate(lines)]
    out.append(CheckInput(f"batch of {len(lines)} generated lines", preprocess_batch(lines, REC_HEIGHT)))
    out += [CheckInput(name, preprocess_batch([img], REC_HEIGHT)) for name, img in _user_images(check_images)]
    return out


def det_check_inputs(input_spec: Mapping | None, check_images: str | Path | None = None) -> list[CheckInput]:
    """Detection check inputs (see the module)."""
    pre = config_from_input_spec(input_spec)
    page, _ = sample_page(3)
    x = preprocess_det(prepare_page(page, pre)[0], pre)
    h, w = min(256, x.shape[2]), min(384, x.shape[3])
    crops = np.ascontiguousarray(np.concatenate([x[:, :, :h, :w], x[:, :, -h:, -w:]]))
    out = [CheckInput("batch of 2 crops of a generated page", crops), CheckInput("generated page", x)]
    out += [CheckInput(name, preprocess_det(prepare_page(img, pre)[0], pre))
            for name, img in _user_images(check_images)]
    return out


def _max_abs_diff(got: np.ndarray, ref: np.ndarray) -> float:
    if not got.size:
        return 0.0
    diff = np.abs(got.astype(np.float64) - ref.astype(np.float64))
    return float(diff.max()) if np.isfinite(diff).all() else float("inf")


def compare_outputs(inputs: list[CheckInput], torch_fn: Runner, plain_fn: Runner, optimized_fn: Runner
                    ) -> list[CheckResult]:
    """Run every input through PyTorch and through ONNX Runtime (``plain_fn``: graph optimisations off;
    ``optimized_fn``: as the runtime runs it). A run that fails or a shape that differs is a ``ValueError`` naming
    the input. Differences are reported, not judged (the caller holds the tolerances)."""
    results = []
    for item in inputs:
        ref = torch_fn(item.x)
        got = []
        for fn in (plain_fn, optimized_fn):
            try:
                out = fn(item.x)
            except Exception as e:  # noqa: BLE001 - any ONNX Runtime failure on a valid input refuses the export
                raise ValueError(f"ONNX Runtime cannot run the exported model on {item.name} "
                                 f"(input {list(item.x.shape)}): {e}") from None
            if out.shape != ref.shape:
                raise ValueError(f"on {item.name} (input {list(item.x.shape)}) ONNX Runtime returns shape "
                                 f"{list(out.shape)}, PyTorch {list(ref.shape)}")
            got.append(out)
        results.append(CheckResult(item.name, list(item.x.shape), list(ref.shape), _max_abs_diff(got[0], ref),
                                   _max_abs_diff(got[1], ref)))
    return results
