import math
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from semiocr.core.config import load_config
from semiocr.core.ssl import pseudo_label as pl
from semiocr.core.ssl.config import LmsslConfig
from semiocr.core.ssl.distill import frame_kl
from semiocr.core.ssl.ema import ModelEMA
from semiocr.core.ssl.recipe import _best_of
from semiocr.core.ssl.sampler import MixedBatchSampler
from semiocr.core.ssl.summary import summary_markdown, summary_table


def test_ema_averages_params_and_float_buffers_and_copies_int_buffers():
    m = nn.BatchNorm1d(3)
    ema = ModelEMA(m, decay=0.5)
    with torch.no_grad():
        m.weight.fill_(3.0)  # EMA starts at 1.0
        m.running_mean.fill_(2.0)  # starts at 0.0
    m.num_batches_tracked.fill_(7)
    ema.update(m)
    assert torch.allclose(ema.module.weight, torch.full((3,), 2.0))
    assert torch.allclose(ema.module.running_mean, torch.full((3,), 1.0))
    assert int(ema.module.num_batches_tracked) == 7
    assert not any(p.requires_grad for p in ema.module.parameters())


def test_ema_warmup_ramps_decay_and_state_roundtrip():
    m = nn.Linear(2, 2)
    ema = ModelEMA(m, decay=0.99, warmup_steps=10)
    assert ema.current_decay() == pytest.approx(0.99 * (1 - math.exp(-0.1)))
    ema.update(m)
    other = ModelEMA(nn.Linear(2, 2), decay=0.9)
    other.load_state_dict(ema.state_dict())
    assert other.updates == 1 and other.decay == 0.99 and other.warmup_steps == 10
    assert torch.equal(other.module.weight, ema.module.weight)


def test_sampler_keeps_labelled_share_and_covers_pseudo_pool_once():
    s = MixedBatchSampler(n_labelled=5, n_pseudo=40, batch_size=8, labelled_share=0.25, seed=1)
    batches = list(s)
    assert len(batches) == len(s) == 7  # 40 pseudo / 6 per batch
    for b in batches:
        assert sum(j < 5 for j in b) == 2
    pseudo = sorted(j for b in batches for j in b if j >= 5)
    assert pseudo == list(range(5, 45))


def test_sampler_is_deterministic_per_epoch_and_plain_without_pseudo():
    s = MixedBatchSampler(10, 0, 4, 0.5, seed=3)
    assert sorted(j for b in s for j in b) == list(range(10))
    first = list(s)
    assert list(s) == first
    s.set_epoch(1)
    assert list(s) != first
    with pytest.raises(ValueError, match="labelled_share"):
        MixedBatchSampler(1, 1, 4, 1.5)


def test_sampler_by_width_keeps_coverage_and_share_and_narrows_batches():
    rng = np.random.default_rng(0)
    n_lab, n_pse = 20, 300
    widths = list(rng.uniform(1, 20, n_lab + n_pse))
    plain = MixedBatchSampler(n_lab, n_pse, 16, 0.25, seed=2)
    bucketed = MixedBatchSampler(n_lab, n_pse, 16, 0.25, seed=2, widths=widths, bucket_group=8)
    a, b = list(plain), list(bucketed)
    assert len(b) == len(a) == len(bucketed)
    assert sorted(j for x in b for j in x if j >= n_lab) == list(range(n_lab, n_lab + n_pse))  # pool once
    assert [sum(j < n_lab for j in x) for x in b] == [4] * len(b)  # labelled share per batch kept

    def padding(batches):  # mean padded width: each batch is padded to its widest line
        return np.mean([max(widths[j] for j in x) for x in batches])

    assert padding(b) < 0.8 * padding(a)
    assert list(bucketed) == b  # deterministic per epoch
    bucketed.set_epoch(1)
    assert list(bucketed) != b
    with pytest.raises(ValueError, match="widths has 3 entries for 320 samples"):
        MixedBatchSampler(n_lab, n_pse, 16, widths=[1.0, 2.0, 3.0])


def test_frame_kl_zero_for_equal_positive_otherwise_none_when_frames_differ():
    t = torch.randn(2, 5, 7)
    assert float(frame_kl(t.clone(), t)) == pytest.approx(0.0, abs=1e-6)
    s = torch.randn(2, 5, 7, requires_grad=True)
    kl = frame_kl(s, t, temperature=2.0)
    assert float(kl.detach()) > 0
    kl.backward()
    assert s.grad is not None and s.grad.abs().sum() > 0
    assert frame_kl(torch.randn(2, 6, 7), t) is None


def test_frame_kl_mask_ignores_padding_frames():
    t = torch.randn(1, 4, 3)
    s = t.clone()
    s[0, 3] = torch.tensor([9.0, -9.0, 0.0])  # differs only in the last (padding) frame
    mask = torch.tensor([[True, True, True, False]])
    assert float(frame_kl(s, t, 1.0, mask)) == pytest.approx(0.0, abs=1e-6)
    assert float(frame_kl(s, t, 1.0)) > 0.1


@pytest.mark.parametrize("name", ["lmssl_joint.yaml", "lmssl_cpu.yaml", "lmssl_tiny.yaml"])
def test_shipped_configs_validate(name, tmp_path):
    path = Path(__file__).resolve().parents[3] / "configs" / name
    cfg = load_config(LmsslConfig, path, [f"data.root={tmp_path}", "teacher.rounds=1"])
    assert cfg.teacher.rounds == 1 and cfg.mode == "joint" and str(cfg.data.root) == str(tmp_path)


def test_recipe_selection_breaks_exact_match_ties_on_norm_edit():
    runs = {"warmup": {"acc": 0.0, "norm_edit": 0.30}, "round1": {"acc": 0.0, "norm_edit": 0.25},
            "round2": {"acc": 0.0, "norm_edit": 0.30}}
    assert _best_of(runs) is not runs["round2"] and _best_of(runs) == runs["round2"]  # a copy; later wins ties
    assert _best_of({**runs, "round3": {"acc": 0.01, "norm_edit": 0.1}})["acc"] == 0.01
    assert _best_of({"a": {"acc": 0.0, "norm_edit": 0.4}, "b": {"acc": 0.0, "norm_edit": 0.2}})["norm_edit"] == 0.4


def test_selection_on_norm_edit_for_lines_rarely_read_exactly(tmp_path):
    start, warm = {"acc": 0.002, "norm_edit": 0.35}, {"acc": 0.0, "norm_edit": 0.59}  # poilus: 1 line exact at start
    assert _best_of({"start": start, "warmup": warm}) == start
    assert _best_of({"start": start, "warmup": warm}, "norm_edit") == warm
    cfg = LmsslConfig.model_validate({"output_dir": str(tmp_path), "data": {"root": str(tmp_path)},
                                      "selection_metric": "norm_edit"})
    assert cfg.selection_metric == "norm_edit"
    with pytest.raises(ValueError, match="selection_metric"):
        LmsslConfig.model_validate({"output_dir": str(tmp_path), "data": {"root": str(tmp_path)},
                                    "selection_metric": "cer"})


@pytest.mark.parametrize("name", [None, "lmssl_joint.yaml", "lmssl_cpu.yaml"])
def test_default_teacher_selection_is_scale_free(name, tmp_path):
    """The teacher's default keeps the top half of the pool in round 1 whatever the confidence scale (handwriting
    read at ~0.6 as well as meters read at ~1.0), then a quarter more per round."""
    path = Path(__file__).resolve().parents[3] / "configs" / name if name else None
    p = load_config(LmsslConfig, path, [f"data.root={tmp_path}", f"output_dir={tmp_path}"]).teacher.pseudo
    for scale in (0.6, 1.0):
        pool = [pl.PseudoLabel(Path(f"{i}"), "ab", scale * (0.5 + i / 200)) for i in range(100)]
        kept = [pl.select(pool, p.threshold, p.top_fraction(k), p.min_length) for k in (1, 2, 3)]
        assert [len(k) for k in kept] == [50, 75, 100]
        assert min(x.confidence for x in kept[0]) > max(x.confidence for x in pool if x not in kept[0])


@pytest.mark.parametrize("name", [None, "lmssl_joint.yaml", "lmssl_cpu.yaml"])
def test_default_student_selection_drops_the_least_confident_tenth(name, tmp_path):
    """The student learns from the teacher's final labels minus the least confident tenth of the pool (the
    noisiest labels), and never from a line read below 0.5."""
    path = Path(__file__).resolve().parents[3] / "configs" / name if name else None
    p = load_config(LmsslConfig, path, [f"data.root={tmp_path}", f"output_dir={tmp_path}"]).student.pseudo
    pool = [pl.PseudoLabel(Path(f"{i}"), "ab", 0.5 + i / 200) for i in range(100)]
    kept = pl.select(pool, p.threshold, p.top_fraction(1), p.min_length)
    assert sorted(int(x.path.name) for x in kept) == list(range(10, 100))
    low = [pl.PseudoLabel(Path(f"{i}"), "ab", 0.3 + i / 200) for i in range(100)]  # 0.30 … 0.795
    assert all(x.confidence >= 0.5 for x in pl.select(low, p.threshold, p.top_fraction(1), p.min_length))


@pytest.mark.parametrize("name", [None, "lmssl_joint.yaml", "lmssl_cpu.yaml"])
def test_default_selection_keeps_the_top_lines_of_a_rarely_written_character(name, tmp_path):
    """A character the model writes in few pool lines, with less confidence than the rest (the 1 labelled "."
    of wire markers), keeps the top of its lines in every round; the pool-wide ranking would drop them all."""
    path = Path(__file__).resolve().parents[3] / "configs" / name if name else None
    cfg = load_config(LmsslConfig, path, [f"data.root={tmp_path}", f"output_dir={tmp_path}"])
    pool = [pl.PseudoLabel(Path(f"c{i}"), "L117", 0.999) for i in range(997)]
    dots = [pl.PseudoLabel(Path(f"d{i}"), "L11.7", 0.9 - i / 100) for i in range(3)]  # "." in 0.3 % of the pool
    for p, k in ((cfg.teacher.pseudo, 1), (cfg.teacher.pseudo, 2), (cfg.student.pseudo, 1)):
        kept = pl.select(pool + dots, p.threshold, p.top_fraction(k), p.min_length, p.rare_char_share)
        assert dots[0] in kept
        assert dots[0] not in pl.select(pool + dots, p.threshold, p.top_fraction(k), p.min_length)


def test_batches_of_an_epoch_differ_in_size_by_at_most_one():
    from semiocr.core.training.sampler import EpochBatchSampler

    labelled_only = list(MixedBatchSampler(100, 0, 32, seed=0))
    assert [len(b) for b in labelled_only] == [25, 25, 25, 25]
    assert sorted(i for b in labelled_only for i in b) == list(range(100))
    mixed = list(MixedBatchSampler(10, 70, 32, labelled_share=0.25, seed=0))  # 8 labelled + 24 pool per batch
    assert [len(b) - 8 for b in mixed] == [24, 23, 23]
    assert sorted(i for b in mixed for i in b[8:]) == list(range(10, 80))
    supervised = list(EpochBatchSampler(100, 32, seed=0))
    assert [len(b) for b in supervised] == [25, 25, 25, 25] and len({i for b in supervised for i, _ in b}) == 100
    assert [len(b) for b in EpochBatchSampler(100, 32, seed=0, drop_last=True)] == [32, 32, 32]


def test_summary_gives_every_stage_both_metrics():
    """Handwriting is selected on 1 − NED and rarely read exactly: the rounds' lines show it too."""
    results = {"large": {"start": {"acc": 0.0, "norm_edit": 0.615}, "warmup": {"acc": 0.002, "norm_edit": 0.664},
                         "round1": {"acc": 0.004, "norm_edit": 0.69}, "final": {"acc": 0.004, "norm_edit": 0.69},
                         "warmup_tries": {"warmup": {"acc": 0.002, "norm_edit": 0.664},
                                          "warmup_try1": {"acc": 0.006, "norm_edit": 0.654}}}}
    text = summary_markdown(summary_table(results), "joint")
    assert "| large | 0.00 (61.50) | 0.20 (66.40) | 0.40 (69.00) |" in text
    assert "large round1: 0.40 (69.00)" in text
    assert "warmup 0.20 (66.40); warmup_try1 0.60 (65.40)" in text
