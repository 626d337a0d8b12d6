import pytest
import yaml

from semiocr.core.config import ConfigError, dump_config, load_config
from semiocr.core.training.config import MAX_BATCH_SIZE, RecTrainConfig


def test_yaml_plus_typed_overrides(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("arch: rec-tiny\nepochs: 3\nbatch_size: 8\n", encoding="utf-8")
    cfg = load_config(RecTrainConfig, p, ["epochs=7", "learning_rate=0.01", "resume=null", "model_kwargs.hidden=32",
                          "augment=strong"])
    assert cfg.arch == "rec-tiny" and cfg.epochs == 7 and cfg.batch_size == 8
    assert cfg.learning_rate == 0.01 and cfg.resume is None and cfg.model_kwargs == {"hidden": 32}
    assert cfg.augment == "strong"


def test_unknown_key_and_bad_values_name_the_field(tmp_path):
    with pytest.raises(ConfigError, match="epcohs"):
        load_config(RecTrainConfig, None, ["epcohs=3"])
    with pytest.raises(ConfigError, match="batch_size"):
        load_config(RecTrainConfig, None, [f"batch_size={MAX_BATCH_SIZE + 1}"])
    with pytest.raises(ConfigError, match="augment"):
        load_config(RecTrainConfig, None, ["augment=wild"])
    with pytest.raises(ConfigError, match="key=value"):
        load_config(RecTrainConfig, None, ["epochs"])
    (tmp_path / "bad.yaml").write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="bad.yaml"):
        load_config(RecTrainConfig, tmp_path / "bad.yaml")


def test_resolved_config_round_trips(tmp_path):
    cfg = RecTrainConfig(arch="rec-tiny", epochs=2, data_dir="/d")
    dump_config(cfg, tmp_path / "run" / "config.yaml")
    data = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text(encoding="utf-8"))
    assert data["epochs"] == 2 and data["arch"] == "rec-tiny"
    assert load_config(RecTrainConfig, tmp_path / "run" / "config.yaml") == cfg
