"""The job contract: one loader for every kind, configs that round-trip as a managed run will store them, and
one way for every kind to report a stop."""

from pathlib import Path

import pytest
from synthetic_lines import make_rec_dataset
from typer.testing import CliRunner

from semiocr.cli.main import app
from semiocr.core.config import ConfigError, dump_config
from semiocr.core.job import JOB_CONFIG, load_job_config, run_job
from semiocr.core.ssl.config import LmsslConfig
from semiocr.core.training.config import DetTrainConfig, RecTrainConfig

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_configs_name_their_kind_and_round_trip(path, tmp_path):
    cfg = load_job_config(path, ["output_dir=x"] + (["data.root=ds"] if path.name.startswith("lmssl") else []))
    expected = {"rec": RecTrainConfig, "lmssl": LmsslConfig}[path.name.split("_")[0]]
    assert type(cfg) is expected
    stored = cfg.model_dump(mode="json")  # what a managed run keeps
    assert JOB_CONFIG.validate_python(stored) == cfg
    dump_config(cfg, tmp_path / "frozen.yaml")
    assert load_job_config(tmp_path / "frozen.yaml") == cfg


def test_kind_is_filled_in_by_the_command_and_must_agree(tmp_path):
    plain = tmp_path / "plain.yaml"
    plain.write_text("arch: rec-tiny\nepochs: 2\n", encoding="utf-8")
    assert isinstance(load_job_config(plain, kind="rec"), RecTrainConfig)
    assert isinstance(load_job_config(plain, ["arch=PP-OCRv4-mobile-det-tiny"], kind="det"), DetTrainConfig)
    with pytest.raises(ConfigError, match="no kind"):
        load_job_config(plain)
    with pytest.raises(ConfigError, match="'rec' job config, not 'det'"):
        load_job_config(CONFIGS / "rec_tiny.yaml", kind="det")
    with pytest.raises(ConfigError, match="unknown job kind"):
        load_job_config(plain, kind="ocr")
    with pytest.raises(ConfigError, match="warmup_epochs"):  # one naming of the knobs: the old name is an error
        load_job_config(CONFIGS / "lmssl_tiny.yaml", ["teacher.warmup.warmup_epochs=1"])


def test_every_kind_reports_a_stop_the_same_way(tmp_path):
    root = make_rec_dataset(tmp_path / "ds", n_train=16, n_val=4, n_unlabeled=8, seed=1)
    rec = RecTrainConfig(arch="rec-tiny", data_dir=str(root), use_space=False, epochs=2, batch_size=8, workers=0,
                         device="cpu", output_dir=str(tmp_path / "rec"))
    lmssl = load_job_config(CONFIGS / "lmssl_tiny.yaml", [f"data.root={root}", f"output_dir={tmp_path / 'lm'}"])
    for cfg in (rec, lmssl):
        result = run_job(cfg, should_stop=lambda: True)
        assert (result.kind, result.status) == (cfg.kind, "stopped")
        assert result.output_dir == Path(cfg.output_dir)


def test_a_stored_config_runs_and_resumes_through_train_job(tmp_path):
    root = make_rec_dataset(tmp_path / "ds", n_train=16, n_val=4, seed=2)
    out = tmp_path / "run"
    cfg = RecTrainConfig(arch="rec-tiny", data_dir=str(root), use_space=False, epochs=1, batch_size=8, workers=0,
                         device="cpu", output_dir=str(out))
    frozen = dump_config(cfg, tmp_path / "frozen.yaml")
    runner = CliRunner()
    res = runner.invoke(app, ["train", "job", "--quiet", "-c", str(frozen)])
    assert res.exit_code == 0, res.output
    assert "succeeded: epoch 1, step 2" in res.output and (out / "checkpoints" / "best.pt").is_file()
    assert load_job_config(out / "config.yaml") == cfg  # the run keeps its resolved config, kind included
    res = runner.invoke(app, ["train", "job", "--quiet", "-c", str(frozen), "-o", "epochs=2",
                              "-o", f"resume={out}"])
    assert res.exit_code == 0 and "succeeded: epoch 2, step 4" in res.output, res.output
