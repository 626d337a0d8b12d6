from pathlib import Path

import numpy as np
import pytest
from synthetic_lines import make_rec_dataset

from semiocr.core.data.labels import DatasetError, Sample
from semiocr.core.training.rec_data import (
    RecCollate,
    RecDataset,
    filter_samples,
    read_image,
)
from semiocr.core.training.sampler import EpochBatchSampler
from semiocr.runtime.charset import Charset


def _flat(sampler):
    return [i for b in sampler for i, _ in b]


def test_sampler_is_seeded_per_epoch_and_skip_resumes_the_same_order():
    s = EpochBatchSampler(50, 8, seed=3)
    s.set_epoch(0)
    e0 = list(s)
    s.set_epoch(0)
    assert list(s) == e0
    s.set_epoch(1)
    assert _flat(s) != [i for b in e0 for i, _ in b]
    s.set_epoch(0, skip=3)
    assert list(s) == e0[3:] and len(s) == len(e0) - 3 == s.full_length() - 3
    assert sorted(i for b in e0 for i, _ in b) == list(range(50))


def test_sampler_ranks_split_the_epoch():
    parts = []
    for rank in range(2):
        s = EpochBatchSampler(11, 4, seed=0, rank=rank, world_size=2)
        s.set_epoch(5)
        parts.append(_flat(s))
        assert s.full_length() == 2
    assert len(parts[0]) == len(parts[1]) == 6
    assert set(parts[0]) | set(parts[1]) == set(range(11))


def test_dataset_and_collate(tmp_path):
    root = make_rec_dataset(tmp_path, n_train=6, n_val=2)
    cs = Charset.from_file(root / "dict.txt", use_space=False)
    lines = (root / "train.txt").read_text().splitlines()
    samples = [Sample(root / ln.split("\t")[0], ln.split("\t")[1], f"train.txt:{i}") for i, ln in enumerate(lines)]
    ds = RecDataset(samples)
    batch = RecCollate(cs)([ds[(i, 0)] for i in range(4)])
    assert batch.images.shape[:3] == (4, 3, 48) and batch.images.shape[3] >= 320
    assert batch.target_lengths.tolist() == [len(s.text) for s in samples[:4]]
    assert cs.decode(batch.targets.tolist()) == "".join(s.text for s in samples[:4])


def test_augmented_items_depend_on_epoch_not_on_call_order(tmp_path):
    root = make_rec_dataset(tmp_path, n_train=3, n_val=1)
    samples = [Sample(root / f"images/train_0000{i}.png", "1", "x") for i in range(3)]
    from semiocr.core.augment import get_augment

    ds = RecDataset(samples, get_augment("strong"), seed=1)
    a = ds[(2, 4)][0]
    ds[(0, 4)]
    assert np.array_equal(ds[(2, 4)][0], a)
    assert not np.array_equal(ds[(2, 5)][0], a) or ds[(2, 5)][0].shape != a.shape


def test_filter_samples_says_why():
    cs = Charset(tuple("0123"), use_space=False)
    samples = [Sample(Path("a.png"), "012", "t:1"), Sample(Path("b.png"), "09", "t:2"),
               Sample(Path("c.png"), "0123012", "t:3")]
    kept, dropped = filter_samples(samples, cs, max_text_length=5)
    assert [s.source for s in kept] == ["t:1"]
    assert "t:2" in dropped[0] and "'9'" in dropped[0]
    assert "t:3" in dropped[1] and "max_text_length" in dropped[1]


def test_read_image_errors_name_the_line(tmp_path):
    (tmp_path / "x.png").write_bytes(b"not an image")
    with pytest.raises(DatasetError, match="train.txt:4"):
        read_image(tmp_path / "x.png", "train.txt:4")
    with pytest.raises(DatasetError, match="missing.png"):
        read_image(tmp_path / "missing.png")


def test_loader_batches_do_not_depend_on_worker_count(tmp_path):
    import torch

    from semiocr.core.training.config import RecTrainConfig
    from semiocr.core.training.supervised import build_supervised_task

    root = make_rec_dataset(tmp_path, n_train=12, n_val=2)
    batches = []
    for workers in (0, 2):
        cfg = RecTrainConfig(arch="rec-tiny", data_dir=str(root), batch_size=4, workers=workers, augment="strong",
                          use_space=False, device="cpu")
        task = build_supervised_task(cfg, log=lambda m: None)
        task.setup(torch.device("cpu"), 0, 1)
        batches.append(list(task.train_batches(epoch=3, skip=1)))
    assert len(batches[0]) == len(batches[1]) == 2
    for a, b in zip(*batches, strict=True):
        assert a.paths == b.paths and torch.equal(a.images, b.images)
