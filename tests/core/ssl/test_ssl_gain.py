"""The semi-supervised recipe measurably helps (issue 16): on a few labelled lines of a new domain, pseudo-labels
from a larger unlabelled pool beat supervised-only training on a held-out test split; and characters missing
from the start weights' dict are learned from the labelled lines and written by the final models.

Both tests start from tiny recognizers pre-trained (here, with the recipe itself) on digit lines drawn in
OpenCV's plain sans-serif font: the "pretrained weights" of a real run. Evaluation uses the project's inference
(``load_recognizer_model`` + ``Recognizer``) and ``rec_metrics`` on a ``test.txt`` the recipe never reads.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from semiocr.core.data.images import read_image
from semiocr.core.data.labels import read_labelled
from semiocr.core.eval.recognition import rec_metrics
from semiocr.core.inference.recognizer import Recognizer
from semiocr.core.ssl.config import LmsslConfig
from semiocr.core.ssl.recipe import run_lmssl
from semiocr.core.weights.checkpoint import read_checkpoint
from semiocr.core.weights.load import load_recognizer_model

DIGITS = "0123456789"
Render = Callable[[str, np.random.Generator], np.ndarray]


# -- generated lines --------------------------------------------------------------------------------------
def render(text: str, rng: np.random.Generator, font: int = cv2.FONT_HERSHEY_SIMPLEX, hard: bool = False
           ) -> np.ndarray:
    """``text`` drawn by ``cv2.putText`` (32 px high, BGR uint8); ``hard``: wider ranges of size, position,
    contrast, blur and noise (the new domain of the gain test)."""
    scale = rng.uniform(0.7, 1.1) if hard else rng.uniform(0.8, 1.0)
    thick = int(rng.integers(1, 3))
    (tw, th), base = cv2.getTextSize(text, font, scale, thick)
    w = tw + int(rng.integers(6, 24 if hard else 16))
    bg = int(rng.integers(150, 256)) if hard else int(rng.integers(180, 256))
    img = np.full((max(32, th + base + 4), w, 3), bg, np.uint8)
    x = int(rng.integers(2, max(3, w - tw - 2)))
    y = (img.shape[0] + th) // 2 + (int(rng.integers(-3, 4)) if hard else 0)
    ink = int(rng.integers(0, bg - 70)) if hard else int(rng.integers(0, 90))
    cv2.putText(img, text, (x, y), font, scale, (ink,) * 3, thick, cv2.LINE_AA)
    out = img.astype(np.float32)
    if hard and rng.random() < 0.5:
        out = cv2.GaussianBlur(out, (0, 0), float(rng.uniform(0.5, 1.5)))
    sigma = rng.uniform(4, 22) if hard else 6.0
    return np.clip(out + rng.normal(0, sigma, size=out.shape), 0, 255).astype(np.uint8)


def random_text(rng: np.random.Generator, lengths: tuple[int, int], alphabet: str = DIGITS,
                must: str = "", must_share: float = 0.0) -> str:
    """A random line of ``alphabet``; with probability ``must_share`` one position holds a character of ``must``."""
    chars = list(rng.choice(list(alphabet), size=int(rng.integers(lengths[0], lengths[1] + 1))))
    if must and rng.random() < must_share:
        chars[int(rng.integers(0, len(chars)))] = str(rng.choice(list(must)))
    return "".join(chars)


def write_split(root: Path, name: str, texts: list[str], draw: Render, rng: np.random.Generator,
                labelled: bool = True) -> None:
    """Render ``texts`` into ``root/images`` and list them in ``root/<name>`` (``path<TAB>text`` or path only)."""
    (root / "images").mkdir(parents=True, exist_ok=True)
    stem = Path(name).stem
    rows = []
    for i, text in enumerate(texts):
        rel = f"images/{stem}_{i:04d}.png"
        cv2.imwrite(str(root / rel), draw(text, rng))
        rows.append(f"{rel}\t{text}" if labelled else rel)
    (root / name).write_text("".join(r + "\n" for r in rows), encoding="utf-8")


def read_test(weights: Path, root: Path, split: str = "test.txt") -> tuple[dict[str, float], list[str], list[str]]:
    """``rec_metrics`` of ``weights`` on ``root/split`` with the project's inference; also predictions, truths."""
    model, charset, _ = load_recognizer_model(weights)
    samples = read_labelled(root, split)
    reads = Recognizer(model, charset, "cpu", batch_size=64).predict([read_image(s.path) for s in samples])
    preds, truths = [r.text for r in reads], [s.text or "" for s in samples]
    return rec_metrics(preds, truths), preds, truths


def _optim(epochs: int, batch_size: int, lr: float = 3e-3) -> dict:
    return {"epochs": epochs, "learning_rate": lr, "batch_size": batch_size, "warmup_steps": 0}


def lmssl_config(root: Path, out: Path, large_start: Path | None, small_start: Path | None, *, rounds: int,
                 warmup: dict, round_optim: dict, student_optim: dict, top_fraction: float = 0.5,
                 student_supervised: bool = True, seed: int = 0) -> LmsslConfig:
    """A joint run of the read models (no EMA, no 180° readings: tiny stages on upright lines)."""
    def model(arch: str, start: Path | None) -> dict:
        return {"arch": arch, "pretrained": str(start) if start else None}

    return LmsslConfig.model_validate({
        "mode": "joint", "output_dir": str(out), "device": "cpu", "seed": seed,
        "data": {"root": str(root), "use_space": False},
        "teacher": {"model": model("ssl-read-large", large_start), "warmup": warmup, "round_optim": round_optim,
                    "rounds": rounds, "ema_decay": None, "ema_warmup_steps": 0,
                    "pseudo": {"threshold": None, "top_fraction_start": top_fraction, "top_fraction_step": 0.25,
                               "rotate_180": False}},
        "student": {"model": model("ssl-read-small", small_start), "optim": student_optim, "warmup": warmup,
                    "warmup_supervised": student_supervised,
                    "pseudo": {"threshold": 0.0, "top_fraction_start": 0.9, "rotate_180": False}},
    })


@pytest.fixture(scope="module")
def digit_start(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Start weights that read digits only (dict ``0-9``): the large model trained on 400 sans-serif digit lines,
    the small one distilled from it (frame-level KL gets it out of CTC's all-blank start; the pool is the same
    lines). Returns (large, small) checkpoints."""
    torch.manual_seed(0)
    base = tmp_path_factory.mktemp("digit_start")
    root, rng = base / "ds", np.random.default_rng(1)
    train = [random_text(rng, (3, 5)) for _ in range(400)]
    write_split(root, "train.txt", train, render, rng)
    write_split(root, "val.txt", [random_text(rng, (3, 5)) for _ in range(40)], render, rng)
    (root / "train_unlabeled.txt").write_text("".join(f"images/train_{i:04d}.png\n" for i in range(len(train))))
    (root / "dict.txt").write_text("".join(c + "\n" for c in DIGITS))
    cfg = lmssl_config(root, base / "run", None, None, rounds=0, warmup=_optim(8, 8),
                       round_optim=_optim(1, 16), student_optim=_optim(6, 8), top_fraction=1.0,
                       student_supervised=False)
    assert run_lmssl(cfg).status == "succeeded"
    large, small = base / "run/large_best.pt", base / "run/small_best.pt"
    for weights in (large, small):  # the start weights do read the source domain (else the tests prove nothing)
        assert read_checkpoint(weights)["meta"].metrics["acc"] >= 0.8, weights
    return large, small


# -- 1. semi-supervised beats supervised-only ---------------------------------------------------------------
@pytest.mark.slow
def test_semi_supervised_beats_supervised_only_on_few_labels(digit_start, tmp_path):
    """16 labelled lines of a new domain (script font, wider size/contrast/blur/noise ranges, 4–7 digits) and
    a pool of 400 unlabelled ones: the large model after two pseudo-label rounds reads the held-out test lines
    far better than its supervised-only warm-up on the same 16 lines (``large/warmup``'s best weights).

    Measured (test exact match / 1 − NED, warm-up → large_best): this test 0.200 → 0.427 / 0.610 → 0.756;
    with other data seeds 0.147 → 0.393 / 0.594 → 0.811, 0.193 → 0.347 / 0.567 → 0.758,
    0.180 → 0.353 / 0.570 → 0.739, 0.193 → 0.373 / 0.590 → 0.751: gains of 15–25 points of exact match and
    15–22 of 1 − NED. The start weights read 1–6 % of these lines exactly. With a pseudo top fraction of 1 % and
    no growth (the rounds train on the labelled lines and 4 pseudo-labels) this test's run gives 0.193 / 0.600
    (no gain) and the test fails. The small model's gain over its own warm-up is not robust (0–14 points of
    1 − NED over those seeds; its val-selected best is sometimes the warm-up), so only no loss is asserted.
    """
    torch.manual_seed(0)
    large_start, small_start = digit_start
    root, rng = tmp_path / "ds", np.random.default_rng(100)

    def script(text: str, r: np.random.Generator) -> np.ndarray:
        return render(text, r, cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, hard=True)

    for name, n in (("train.txt", 16), ("val.txt", 40), ("test.txt", 150), ("train_unlabeled.txt", 400)):
        write_split(root, name, [random_text(rng, (4, 7)) for _ in range(n)], script, rng,
                    labelled=name != "train_unlabeled.txt")
    (root / "dict.txt").write_text("".join(c + "\n" for c in DIGITS))
    out = tmp_path / "run"
    cfg = lmssl_config(root, out, large_start, small_start, rounds=2, warmup=_optim(30, 8),
                       round_optim=_optim(3, 16), student_optim=_optim(3, 16))
    assert run_lmssl(cfg).status == "succeeded"

    start, _, _ = read_test(large_start, root)
    supervised, _, _ = read_test(out / "large/warmup/checkpoints/best.pt", root)
    large, _, _ = read_test(out / "large_best.pt", root)
    small, _, _ = read_test(out / "small_best.pt", root)
    small_supervised, _, _ = read_test(out / "small/warmup/checkpoints/best.pt", root)
    print(f"test acc / 1-NED: start {start['acc']:.3f}/{start['norm_edit']:.3f}, supervised-only "
          f"{supervised['acc']:.3f}/{supervised['norm_edit']:.3f}, large {large['acc']:.3f}/{large['norm_edit']:.3f},"
          f" small {small_supervised['acc']:.3f}/{small_supervised['norm_edit']:.3f} → {small['acc']:.3f}/"
          f"{small['norm_edit']:.3f}")
    assert start["acc"] <= 0.1  # a new domain for the start weights
    assert large["acc"] >= supervised["acc"] + 0.10
    assert large["norm_edit"] >= supervised["norm_edit"] + 0.10
    assert small["norm_edit"] >= small_supervised["norm_edit"]  # distilling on the pseudo-labels lost nothing
    rounds = [json.loads((out / f"pseudo/round{k}.json").read_text()) for k in (1, 2)]
    assert [r["kept"] for r in rounds] == [200, 300]  # the pool was used: top 50 %, then 75 %


# -- 2. characters the start weights never saw --------------------------------------------------------------
NEW = "AKX"


def written_share(preds: list[str], truths: list[str], chars: str) -> dict[str, float]:
    """Per character of ``chars``: the share of lines holding it in the truth whose prediction writes it too."""
    out = {}
    for c in chars:
        hits = [c in p for p, t in zip(preds, truths, strict=True) if c in t]
        out[c] = sum(hits) / len(hits) if hits else 0.0
    return out


@pytest.mark.slow
def test_characters_missing_from_the_start_weights_are_learned_and_written(digit_start, tmp_path):
    """Start weights that read digits only (their dict lacks A, K, X) and a dataset whose dict and labelled lines
    hold those letters: the head surgery gives the letters fresh rows, the warm-ups learn them from the labelled
    lines, and the final large and small models write them on test lines, as do the final pseudo-labels."""
    torch.manual_seed(0)
    large_start, small_start = digit_start
    assert read_checkpoint(large_start)["meta"].charset["chars"] == DIGITS
    root, rng = tmp_path / "ds", np.random.default_rng(7)
    for name, n, share in (("train.txt", 24, 0.8), ("val.txt", 30, 0.5), ("test.txt", 60, 1.0),
                           ("train_unlabeled.txt", 200, 0.5)):
        write_split(root, name, [random_text(rng, (3, 5), DIGITS, NEW, share) for _ in range(n)], render, rng,
                    labelled=name != "train_unlabeled.txt")
    (root / "dict.txt").write_text("".join(c + "\n" for c in DIGITS + NEW))
    out = tmp_path / "run"
    cfg = lmssl_config(root, out, large_start, small_start, rounds=1, warmup=_optim(20, 8),
                       round_optim=_optim(2, 16), student_optim=_optim(2, 16))
    assert run_lmssl(cfg).status == "succeeded"

    summary = json.loads((out / "summary.json").read_text())
    print("val:", {m: {k: v.get("acc") for k, v in d.items() if isinstance(v, dict) and "acc" in v}
                   for m, d in summary["models"].items()}, "failed:", summary.get("failed_stages"))
    for weights in ("large_best.pt", "small_best.pt"):
        assert read_checkpoint(out / weights)["meta"].charset["chars"] == DIGITS + NEW
        metrics, preds, truths = read_test(out / weights, root)
        shares = written_share(preds, truths, NEW)
        print(weights, {k: round(v, 3) for k, v in metrics.items()}, shares)
        assert min(shares.values()) >= 0.5, (weights, shares)
    kept = (out / "pseudo/final.labels.txt").read_text(encoding="utf-8")
    texts = [row.split("\t")[1] for row in kept.splitlines()]
    for c in NEW:
        assert sum(c in t for t in texts) >= 10, (c, texts)
    assert summary["warnings"] == {}  # every character of the labelled lines is in some kept final pseudo-label
    log = (out / "events.jsonl").read_text(encoding="utf-8")
    assert "3 characters of the dict are new to these weights (only training teaches them): A K X" in log

    # the same run with a final selection that keeps nothing: the summary says which characters no
    # pseudo-label writes, most frequent in the labelled lines first
    strict = lmssl_config(root, tmp_path / "strict", large_start, small_start, rounds=0, warmup=_optim(1, 8),
                          round_optim=_optim(1, 16), student_optim=_optim(1, 16))
    strict.student.pseudo.min_length = 100  # no line is that long
    strict.student.warmup_supervised = False
    assert run_lmssl(strict).status == "succeeded"
    warned = json.loads((tmp_path / "strict" / "summary.json").read_text())["warnings"]["unwritten_characters"]
    assert warned.startswith(f"{len(set(''.join(labelled_texts(root))))} characters of the labelled lines appear "
                             "in none of the 0 kept final pseudo-labels")
    assert "**Warnings:**" in (tmp_path / "strict" / "summary.md").read_text(encoding="utf-8")


def labelled_texts(root: Path) -> list[str]:
    """The labels of ``root/train.txt``."""
    return [row.split("\t")[1] for row in (root / "train.txt").read_text(encoding="utf-8").splitlines()]


@pytest.mark.slow
def test_warmup_tries_keep_the_one_best_on_val_and_hand_it_on(digit_start, tmp_path):
    """A new domain (script-font lines) and three warm-up settings from the same start weights: a rate too low
    to move them, one that learns, one that wrecks them. The one that learns is the warm-up: the rounds and the
    small model's supervised-only stage (same model here) go on from its weights, and the summary lists all."""
    torch.manual_seed(0)
    large_start, _ = digit_start
    root, rng = tmp_path / "ds", np.random.default_rng(100)

    def script(text: str, r: np.random.Generator) -> np.ndarray:
        return render(text, r, cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, hard=True)

    for name, n in (("train.txt", 16), ("val.txt", 40), ("train_unlabeled.txt", 16)):
        write_split(root, name, [random_text(rng, (4, 7)) for _ in range(n)], script, rng,
                    labelled=name != "train_unlabeled.txt")
    (root / "dict.txt").write_text("".join(c + "\n" for c in DIGITS))
    out = tmp_path / "run"
    raw = lmssl_config(root, out, large_start, None, rounds=1, warmup=_optim(30, 8, 1e-7),
                       round_optim=_optim(1, 16), student_optim=_optim(1, 16)).model_dump(mode="json")
    raw["teacher"]["warmup_tries"] = [{"learning_rate": 3e-3}, {"learning_rate": 10.0}]
    raw["student"].update(model=raw["teacher"]["model"], warmup_from_large=True)
    summary = run_lmssl(LmsslConfig.model_validate(raw)).summary

    state = json.loads((out / "state.json").read_text())
    tried = summary["large"]["warmup_tries"]
    print({k: (round(v["acc"], 3), round(v["norm_edit"], 3)) for k, v in tried.items()}, summary["large"]["start"])
    assert state["warmup_stages"]["large"] == "large/warmup_try1"
    assert summary["large"]["warmup"] == tried["warmup_try1"]
    assert tried["warmup_try1"]["norm_edit"] > max(tried["warmup"]["norm_edit"], tried["warmup_try2"]["norm_edit"])
    assert "large_warmup" not in state.get("failures", {})
    starts = {(out / f"large/{k}/start.json").read_text() for k in tried}  # measured once, the same for all
    assert len(starts) == 1
    chosen = (out / "large/warmup_try1/checkpoints/best.pt").read_bytes()
    assert (out / "small/warmup/checkpoints/best.pt").read_bytes() == chosen
    assert read_checkpoint(out / "large/round1/checkpoints/latest.pt")["meta"].parent.endswith(
        "large/warmup_try1/checkpoints/best.pt")
    assert "large supervised warm-up tries (the best is the warm-up): warmup " in (out / "summary.md").read_text()
