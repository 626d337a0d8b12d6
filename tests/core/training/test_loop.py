import math

import pytest
import torch
from synthetic_lines import make_rec_dataset

from semiocr.core.data.hashing import dataset_hash
from semiocr.core.events import JsonlSink, read_jsonl
from semiocr.core.training.loop import fit, warmup_cosine
from semiocr.core.training.supervised import build_supervised_task
from semiocr.core.weights.checkpoint import CheckpointError, read_checkpoint
from semiocr.core.weights.resolve import resume_checkpoint
from semiocr.runtime.charset import Charset


def _run(cfg, should_stop=None):
    sink = JsonlSink(f"{cfg.output_dir}/metrics.jsonl")
    return fit(build_supervised_task(cfg), cfg, sink=sink, should_stop=should_stop)


def test_warmup_then_cosine():
    f = warmup_cosine(4, 14, min_ratio=0.1)
    assert [f(s) for s in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert f(9) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.5)))
    assert f(14) == pytest.approx(0.1) and f(100) == pytest.approx(0.1)


def test_stop_then_resume_in_process_equals_uninterrupted(small_digits, tmp_path, tiny_config):
    full = _run(tiny_config(small_digits, tmp_path / "full"))
    assert full.reason == "finished" and full.step == 12  # 48 lines / batch 8 = 6 steps x 2 epochs

    calls = []
    stopped = _run(tiny_config(small_digits, tmp_path / "part"), should_stop=lambda: calls.append(1) or len(calls) >= 4)
    assert stopped.reason == "stopped" and stopped.step == 4
    latest = read_checkpoint(resume_checkpoint(tmp_path / "part"))
    assert latest["train"]["epoch_step"] == 4 and latest["train"]["epoch"] == 0

    resumed = _run(tiny_config(small_digits, tmp_path / "part", resume=str(tmp_path / "part")))
    assert resumed.reason == "finished" and resumed.step == 12
    a = read_checkpoint(tmp_path / "full" / "checkpoints" / "latest.pt")["model"]
    b = read_checkpoint(tmp_path / "part" / "checkpoints" / "latest.pt")["model"]
    # same seed, CPU, no workers: the resumed run must reproduce the uninterrupted one exactly (tol 1e-6)
    for k in a:
        assert torch.allclose(a[k].float(), b[k].float(), atol=1e-6), k
    assert resumed.last_metrics == full.last_metrics and resumed.best == full.best
    logs = [e["message"] for e in read_jsonl(tmp_path / "part" / "metrics.jsonl", "log")]
    assert any("resumed from" in m and "+4 steps" in m for m in logs)


def test_checkpoints_are_self_describing_and_atomic(small_digits, tmp_path, tiny_config):
    cfg = tiny_config(small_digits, tmp_path / "run", epochs=2, save_interval_steps=4)
    _run(cfg)
    ck = tmp_path / "run" / "checkpoints"
    assert sorted(p.name for p in ck.iterdir()) == ["best.pt", "epoch_0001.pt", "epoch_0002.pt", "latest.pt"]
    meta = read_checkpoint(ck / "best.pt")["meta"]
    assert meta.arch == "rec-tiny" and meta.kind == "best"
    assert Charset.from_dict(meta.charset) == Charset(tuple("0123456789"), use_space=False)
    assert meta.input["height"] == 48 and meta.input["color"] == "BGR"
    assert meta.dataset_hash == dataset_hash(small_digits)  # the dataset store's content hash
    assert meta.config["epochs"] == 2 and "acc" in meta.metrics
    assert meta.charset_obj().num_classes == 11
    assert (tmp_path / "run" / "config.yaml").is_file()
    events = read_jsonl(tmp_path / "run" / "metrics.jsonl")
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "end" and "progress" in kinds and "metrics" in kinds
    # latest every 4 steps mid-epoch (steps 4) + every epoch end
    latest_steps = [e["step"] for e in events if e["kind"] == "checkpoint" and e["path"].endswith("latest.pt")]
    assert latest_steps == [4, 6, 8, 12]


def test_pretrained_with_other_dict_rebuilds_head_and_resume_refuses(small_digits, tmp_path, tiny_config):
    _run(tiny_config(small_digits, tmp_path / "base", epochs=1))
    other = make_rec_dataset(tmp_path / "letters", n_train=16, n_val=4, alphabet="0123ab", seed=2)
    cfg = tiny_config(other, tmp_path / "ft", epochs=1, pretrained=str(tmp_path / "base" / "checkpoints" / "best.pt"))
    _run(cfg)
    logs = [e["message"] for e in read_jsonl(tmp_path / "ft" / "metrics.jsonl", "log")]
    assert any("5 of 7 rows carried" in m for m in logs), logs  # blank + 0,1,2,3
    meta = read_checkpoint(resume_checkpoint(tmp_path / "ft"))["meta"]
    assert meta.charset_obj().num_classes == 7 and meta.parent.endswith("best.pt")
    with pytest.raises(CheckpointError, match="charset"):
        _run(tiny_config(other, tmp_path / "bad", epochs=1, resume=str(tmp_path / "base")))


@pytest.mark.slow
@pytest.mark.parametrize("cpu_bf16", [False, True])
def test_tiny_model_learns_generated_digits_well_above_chance(tmp_path, tiny_config, cpu_bf16):
    root = make_rec_dataset(tmp_path / "ds", n_train=256, n_val=64, seed=0)
    cfg = tiny_config(root, tmp_path / "run", epochs=20, batch_size=32, warmup_steps=20, augment="none",
                      save_periodic=False, log_interval=8, cpu_bf16=cpu_bf16)
    result = _run(cfg)
    # chance for an exact 3-5 digit string is < 1e-3; require most lines right
    assert result.best >= 0.5, result.last_metrics
    assert result.last_metrics["norm_edit"] > 0.8


def test_pretrained_preset_onto_a_small_dict_carries_shared_rows():
    from semiocr.core.models.registry import build_model
    from semiocr.core.weights.load import load_start_weights

    digits = Charset(tuple("0123456789"), use_space=False)
    model = build_model("PP-OCRv4-mobile-rec", num_classes=digits.num_classes)
    msg = load_start_weights(model, "PP-OCRv4-mobile-rec", digits)
    assert "11 of 11 rows carried" in msg  # blank + the 10 digits of the PP-OCR dict
    assert model.head.fc.out_features == 11
    with pytest.raises(CheckpointError, match="PP-OCRv4-mobile-rec.*rec-tiny"):
        load_start_weights(build_model("rec-tiny", num_classes=11), "PP-OCRv4-mobile-rec", digits)


@pytest.mark.parametrize("arch", ["PP-OCRv4-mobile-rec-tiny", "PP-OCRv4-server-rec-tiny"])
def test_pp_ocrv4_presets_train_through_the_loop(small_digits, tmp_path, tiny_config, arch):
    result = _run(tiny_config(small_digits, tmp_path / "run", arch=arch, epochs=1, batch_size=16))
    assert result.reason == "finished" and result.step == 3
    progress = read_jsonl(tmp_path / "run" / "metrics.jsonl", "progress")
    assert all(math.isfinite(e["loss"]) for e in progress)
    assert read_checkpoint(resume_checkpoint(tmp_path / "run"))["meta"].arch == arch


class _MinimalTask:
    """Only the required ``TrainTask`` members: no setup / steps_per_epoch / checkpoint_meta / skip."""

    selection_metric = "neg_loss"

    def __init__(self):
        from semiocr.core.models.registry import build_model

        torch.manual_seed(0)
        self.model = build_model("rec-tiny", num_classes=5)
        g = torch.Generator().manual_seed(1)
        self.x = torch.randn(6, 3, 48, 64, generator=g)

    def __len__(self):
        return 3

    def train_batches(self, epoch):
        return [self.x[2 * i:2 * i + 2] for i in range(3)]

    def training_step(self, model, batch):
        from semiocr.core.training.task import StepOutput

        return StepOutput(loss=model(batch).logsumexp(-1).mean(), batch_size=len(batch))

    def after_optimizer_step(self, step):
        pass

    def evaluate(self):
        with torch.no_grad():
            return {"neg_loss": -float(self.model(self.x).logsumexp(-1).mean())}

    def eval_module(self):
        return self.model

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        pass


def test_fit_runs_a_task_with_only_the_required_protocol(tmp_path, tiny_config, small_digits):
    from semiocr.core.training.task import TrainTask

    task = _MinimalTask()
    assert isinstance(task, TrainTask)
    cfg = tiny_config(small_digits, tmp_path / "run", epochs=2)
    calls = []
    fit(task, cfg, sink=JsonlSink(tmp_path / "run" / "m.jsonl"), should_stop=lambda: calls.append(1) or len(calls) == 2)
    resumed = fit(_MinimalTask(), tiny_config(small_digits, tmp_path / "run", epochs=2, resume=str(tmp_path / "run")),
                  sink=JsonlSink(tmp_path / "run" / "m.jsonl"))
    assert resumed.step == 6 and resumed.reason == "finished"
    assert read_checkpoint(resume_checkpoint(tmp_path / "run"))["meta"].arch == "rec-tiny"


def test_best_ties_on_the_selection_metric_are_broken_by_the_tiebreak_metric(tmp_path, tiny_config, small_digits):
    scores = iter([{"acc": 0.0, "norm_edit": 0.1}, {"acc": 0.0, "norm_edit": 0.3}, {"acc": 0.0, "norm_edit": 0.2}])
    task = _MinimalTask()
    task.selection_metric, task.tiebreak_metric = "acc", "norm_edit"
    task.evaluate = lambda: next(scores)
    result = fit(task, tiny_config(small_digits, tmp_path / "run", epochs=3),
                 sink=JsonlSink(tmp_path / "run" / "m.jsonl"))
    assert result.best_epoch == 2
    assert read_checkpoint(tmp_path / "run" / "checkpoints" / "best.pt")["meta"].metrics["norm_edit"] == 0.3


def test_eval_at_start_keeps_the_start_weights_when_training_never_beats_them(tmp_path, tiny_config, small_digits):
    scores = iter([{"neg_loss": -1.0}, {"neg_loss": -2.0}, {"neg_loss": -1.5}])
    task = _MinimalTask()
    start = {k: v.clone() for k, v in task.model.state_dict().items()}
    task.evaluate = lambda: next(scores)
    sink = JsonlSink(tmp_path / "run" / "m.jsonl")
    result = fit(task, tiny_config(small_digits, tmp_path / "run", epochs=2, eval_at_start=True), sink=sink)
    assert result.best_epoch == 0 and result.best == -1.0
    metrics = [e for e in read_jsonl(tmp_path / "run" / "m.jsonl") if e.get("kind") == "metrics"]
    assert [e["epoch"] for e in metrics] == [0, 1, 2]
    best = read_checkpoint(tmp_path / "run" / "checkpoints" / "best.pt")["model"]
    assert all(torch.equal(best[k], v) for k, v in start.items())
    assert not torch.equal(task.model.state_dict()["head.fc.weight"], start["head.fc.weight"])  # training moved it


def test_freeze_bn_stats_keeps_running_statistics(tmp_path, tiny_config, small_digits):
    def bn_stats(model):
        return [(m.running_mean.clone(), m.running_var.clone()) for m in model.modules()
                if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]

    for freeze in (True, False):
        task = _MinimalTask()
        before = bn_stats(task.model)
        assert before
        fit(task, tiny_config(small_digits, tmp_path / f"run{freeze}", epochs=1, freeze_bn_stats=freeze),
            sink=JsonlSink(tmp_path / "m.jsonl"))
        after = bn_stats(task.model)
        same = all(torch.equal(a, c) and torch.equal(b, d) for (a, b), (c, d) in zip(before, after, strict=True))
        assert same == freeze


def test_patience_ends_training_after_evaluations_without_a_better_score(tmp_path, tiny_config, small_digits):
    scores = iter([{"neg_loss": -2.0}, {"neg_loss": -1.0}, {"neg_loss": -1.5}, {"neg_loss": -1.2},
                   {"neg_loss": -0.5}])
    task = _MinimalTask()
    task.evaluate = lambda: next(scores)
    cfg = tiny_config(small_digits, tmp_path / "run", epochs=5, patience=2)
    result = fit(task, cfg, sink=JsonlSink(tmp_path / "run" / "m.jsonl"))
    assert result.reason == "early_stopped" and result.epoch == 4 and result.best_epoch == 2  # epoch 5 never ran
    logs = [e["message"] for e in read_jsonl(tmp_path / "run" / "m.jsonl") if e.get("kind") == "log"]
    assert any("early stop after epoch 4" in m for m in logs)
    again = tiny_config(small_digits, tmp_path / "run", epochs=5, patience=2, resume=str(tmp_path / "run"))
    resumed = fit(_MinimalTask(), again, sink=JsonlSink(tmp_path / "run" / "m.jsonl"))
    assert resumed.reason == "early_stopped" and resumed.epoch == 4  # a resume does not train past the stop


def test_frozen_backbone_then_layer_wise_rate(tmp_path, tiny_config, small_digits):
    from semiocr.core.training.loop import build_optimizer, lr_factors

    task = _MinimalTask()
    start = {k: v.detach().clone() for k, v in task.model.named_parameters()}
    cfg = tiny_config(small_digits, tmp_path / "run", epochs=1, freeze_backbone_steps=3, backbone_lr_scale=0.1,
                      warmup_steps=0)
    fit(task, cfg, sink=JsonlSink(tmp_path / "run" / "m.jsonl"))  # 3 steps: all inside the frozen start
    after = dict(task.model.named_parameters())  # weights; BatchNorm statistics still adapt (see freeze_bn_stats)
    assert all(torch.equal(after[k], v) for k, v in start.items() if k.startswith("backbone."))
    assert not torch.equal(after["head.fc.weight"], start["head.fc.weight"])
    opt = build_optimizer(task.model, cfg)
    factors = lr_factors(opt, cfg, total_steps=10)
    backbone = [f for f, g in zip(factors, opt.param_groups, strict=True) if g["backbone"]]
    head = [f for f, g in zip(factors, opt.param_groups, strict=True) if not g["backbone"]]
    assert backbone and head and backbone[0](2) == 0.0
    assert backbone[0](5) == pytest.approx(0.1 * head[0](5)) and head[0](5) > 0
    with pytest.raises(ValueError, match="has no `backbone`"):
        build_optimizer(torch.nn.Linear(2, 2), cfg)


def test_cpu_bf16_casts_the_training_steps_only(tmp_path, tiny_config, small_digits):
    task = build_supervised_task(cfg := tiny_config(small_digits, tmp_path / "run", epochs=1, cpu_bf16=True))
    seen: list[tuple[bool, torch.dtype]] = []
    conv = next(m for m in task.model.modules() if isinstance(m, torch.nn.Conv2d))
    conv.register_forward_hook(lambda mod, args, out: seen.append((mod.training, out.dtype)))
    result = fit(task, cfg, sink=JsonlSink(tmp_path / "run" / "m.jsonl"))
    assert result.reason == "finished"
    assert {d for training, d in seen if training} == {torch.bfloat16}  # 6 steps of the epoch
    assert {d for training, d in seen if not training} == {torch.float32}  # evaluation reads in float32
    best = read_checkpoint(tmp_path / "run" / "checkpoints" / "best.pt")["model"]
    assert all(v.dtype == torch.float32 for v in best.values() if v.is_floating_point())
    losses = [e["loss"] for e in read_jsonl(tmp_path / "run" / "m.jsonl") if "loss" in e]
    assert losses and all(math.isfinite(v) for v in losses)


def test_channels_last_trains_in_nhwc_with_the_same_steps(tmp_path, tiny_config, small_digits):
    cfg = tiny_config(small_digits, tmp_path / "run", epochs=1, channels_last=True)
    task = build_supervised_task(cfg)
    nhwc: list[bool] = []
    conv = next(m for m in task.model.modules() if isinstance(m, torch.nn.Conv2d))
    conv.register_forward_hook(lambda mod, args, out: nhwc.append(out.is_contiguous(memory_format=torch.channels_last)))
    assert fit(task, cfg, sink=JsonlSink(tmp_path / "m.jsonl")).reason == "finished"
    assert len(nhwc) > 6 and all(nhwc)  # the 6 steps of the epoch and the evaluations, all in NHWC
    # a memory layout, not a different computation: one step's loss and gradients equal those of NCHW
    batch = next(iter(task.train_batches(0)))
    grads = []
    for fmt in (torch.contiguous_format, torch.channels_last):
        task.model.to(memory_format=fmt).zero_grad()
        loss = task.training_step(task.model, batch).loss
        loss.backward()
        grads.append((float(loss.detach()), [p.grad.clone() for p in task.model.parameters()]))
    (loss_a, grads_a), (loss_b, grads_b) = grads
    assert loss_a == pytest.approx(loss_b, rel=1e-5)
    for a, b in zip(grads_a, grads_b, strict=True):  # sums in another order: rounding, not a wrong layout
        assert float((a - b).norm()) <= 1e-2 * float(a.norm()) + 1e-7
