from semiocr.core.data.synth import SynthConfig
from semiocr.demo import STEPS, run_demo
from semiocr.platform.datasets import DatasetStore


def test_demo_generates_validates_registers(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SEMIOCR_HOME", str(tmp_path / "home"))
    tiny = SynthConfig(n_train=4, n_val=2, n_test=1, n_unlabeled=3, pages_train=1, pages_val=1)
    ctx = run_demo(tmp_path / "out", synth=tiny)
    assert [name for name, _ in STEPS][:3] == ["generate", "validate", "register"]
    assert (tmp_path / "out" / "report" / "report.json").is_file()
    assert (tmp_path / "out" / "report" / "label_length.png").is_file()
    [ds] = DatasetStore().list()
    assert ds.ref == "demo:v1" and ctx.results["dataset"].hash == ds.hash
    run_demo(tmp_path / "out", synth=tiny)
    assert "already registered as demo:v1" in capsys.readouterr().out and len(DatasetStore().list()) == 1
