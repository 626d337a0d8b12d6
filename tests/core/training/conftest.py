import pytest
from synthetic_lines import make_rec_dataset

from semiocr.core.training.config import RecTrainConfig


@pytest.fixture(scope="session")
def small_digits(tmp_path_factory):
    """48 training + 16 validation generated digit lines."""
    return make_rec_dataset(tmp_path_factory.mktemp("digits_small"), n_train=48, n_val=16, seed=1)


def _tiny_config(data_dir, out_dir, **kw) -> RecTrainConfig:
    base = dict(arch="rec-tiny", data_dir=str(data_dir), output_dir=str(out_dir), epochs=2, batch_size=8,
                learning_rate=3e-3, warmup_steps=2, workers=0, augment="weak", use_space=False, log_interval=2,
                device="cpu", seed=5)
    base.update(kw)
    return RecTrainConfig(**base)


@pytest.fixture
def tiny_config():
    """Factory: a CPU, no-worker config for the tiny model (override any field by keyword)."""
    return _tiny_config
