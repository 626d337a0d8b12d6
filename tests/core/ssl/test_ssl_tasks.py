from pathlib import Path

import pytest
import torch

from semiocr.core.data.labels import read_labelled
from semiocr.core.events import Metrics, Started, StopRequested, ignore
from semiocr.core.models.registry import build_model
from semiocr.core.ssl.common import TaskData
from semiocr.core.ssl.config import OptimCfg
from semiocr.core.ssl.pseudo_label import PseudoLabel
from semiocr.core.ssl.stage import run_stage, train_config
from semiocr.core.ssl.student import StudentTask, content_frame_mask
from semiocr.core.ssl.teacher import TeacherTask
from semiocr.core.training.task import TrainTask
from semiocr.runtime.charset import Charset

CPU = torch.device("cpu")


def _data(root: Path, batch_size: int = 8) -> TaskData:
    cs = Charset.from_file(root / "dict.txt", use_space=False)
    return TaskData(cs, read_labelled(root, "train.txt"), read_labelled(root, "val.txt"), batch_size=batch_size)


def _pseudo(root: Path, truth: dict[str, str], n: int) -> list[PseudoLabel]:
    return [PseudoLabel(root / rel, text, 0.9) for rel, text in list(truth.items())[:n]]


def test_teacher_task_mixes_pseudo_runs_consistency_and_updates_ema(digit_dataset):
    torch.manual_seed(0)
    root, truth = digit_dataset
    data = _data(root)
    model = build_model("ssl-test-large", num_classes=data.charset.num_classes)
    task = TeacherTask(model, data, _pseudo(root, truth, 16), round_index=2, labelled_share=0.5, pseudo_weight=0.5,
                       ema_decay=0.5, unlabelled=[root / r for r in truth], consistency_weight=1.0,
                       consistency_threshold=0.0, consistency_batch=4)
    assert isinstance(task, TrainTask)
    task.setup(CPU, 0, 1)
    assert task.steps_per_epoch() == 4  # 16 pseudo / 4 per batch
    batch = next(iter(task.train_batches(0)))
    assert len(batch) == 8 and batch.weak_x.shape[0] == 4 and len(batch.strong_images) == 4
    assert sorted(batch.sup.weights.tolist()) == [0.5] * 4 + [1.0] * 4
    out = task.training_step(task.model, batch)
    assert out.loss.requires_grad and "cons" in out.logs
    assert "round" not in out.logs  # the events carry the round (an int); a logged value would overwrite it
    before = task.ema.module.head.fc.weight.clone()
    out.loss.backward()
    torch.optim.SGD(task.model.parameters(), lr=0.1).step()
    task.after_optimizer_step(1)
    assert not torch.equal(before, task.ema.module.head.fc.weight)
    assert task.eval_module() is task.ema.module
    assert {"acc", "norm_edit", "cer"} <= set(task.evaluate())
    assert len(list(task.train_batches(0, skip=3))) == 1
    with pytest.raises(ValueError, match="round 1"):
        task.load_state_dict({**task.state_dict(), "round": 1})


def test_student_task_uses_frame_kl_only_when_frames_align(digit_dataset):
    root, truth = digit_dataset
    data = _data(root)
    n = data.charset.num_classes
    aligned = StudentTask(build_model("ssl-test-small", num_classes=n), data, _pseudo(root, truth, 8),
                          teacher=build_model("ssl-test-large", num_classes=n))
    aligned.setup(CPU, 0, 1)
    out = aligned.training_step(aligned.model, next(iter(aligned.train_batches(0))))
    assert aligned.kd_active is True and out.logs["kd"] > 0
    assert all(not p.requires_grad for p in aligned.teacher.parameters())
    other = build_model("ssl-test-large", num_classes=n, stride=8)  # T = W/8 vs W/4
    misaligned = StudentTask(build_model("ssl-test-small", num_classes=n), data, teacher=other)
    misaligned.setup(CPU, 0, 1)
    out = misaligned.training_step(misaligned.model, next(iter(misaligned.train_batches(0))))
    assert misaligned.kd_active is False and "kd" not in out.logs


def test_student_kd_only_where_the_teacher_reads_the_training_label(digit_dataset):
    root, truth = digit_dataset
    data = _data(root)
    cs = data.charset
    task = StudentTask(build_model("ssl-test-small", num_classes=cs.num_classes), data, _pseudo(root, truth, 8),
                       teacher=build_model("ssl-test-large", num_classes=cs.num_classes), kd_only_agreeing=True)
    logits = torch.full((2, 6, cs.num_classes), -5.0)
    for n, frames in enumerate(([cs.index("1"), 0, cs.index("2"), 0, 0, 0], [cs.index("3")] * 6)):
        logits[n, torch.arange(6), torch.tensor(frames)] = 5.0
    assert task.teacher_agrees(logits, ["12", "33"]).tolist() == [True, False]  # CTC collapses "333333" to "3"
    task.setup(CPU, 0, 1)
    batch = next(iter(task.train_batches(0)))
    out = task.training_step(task.model, batch)  # the untrained teacher reads none of the labels: no KL
    assert out.logs["kd_agree"] == 0.0 and out.logs["kd"] == 0.0
    task.kd_only_agreeing = False
    assert task.training_step(task.model, batch).logs["kd"] > 0


def test_content_frame_mask_follows_zero_padding():
    x = torch.zeros(2, 3, 48, 320)
    x[0, :, :, :160] = 0.3
    x[1, :, :, :320] = -0.2
    m = content_frame_mask(x, 40)
    assert m[0].sum() == 20 and m[1].all()


def test_task_rejects_labels_outside_charset(digit_dataset):
    root, _ = digit_dataset
    data = _data(root)
    bad = [PseudoLabel(root / "x.png", "12a", 0.99)]
    with pytest.raises(ValueError, match="not in the charset"):
        StudentTask(build_model("ssl-test-small", num_classes=data.charset.num_classes), data, bad)


def test_run_stage_records_start_resumes_after_stop_and_skips_when_done(digit_dataset, tmp_path):
    torch.manual_seed(0)
    root, _ = digit_dataset
    data = _data(root)

    def task():
        m = build_model("ssl-test-small", num_classes=data.charset.num_classes)
        return TeacherTask(m, data, ema_decay=None)

    t = task()
    cfg = train_config(OptimCfg(epochs=3, learning_rate=3e-3, batch_size=8, warmup_steps=0), t, tmp_path / "s",
                       device="cpu", seed=0, model_kwargs={})
    calls = {"n": 0}

    def stop_in_epoch_2():
        calls["n"] += 1
        # polled before each evaluation and after each step (3 per epoch): call 7 follows step 5, in epoch 2
        return calls["n"] == 7

    with pytest.raises(StopRequested):
        run_stage(t, tmp_path / "s", cfg, sink=ignore, should_stop=stop_in_epoch_2)
    assert (tmp_path / "s/start.json").is_file() and not (tmp_path / "s/done.json").exists()
    events = []
    res = run_stage(task(), tmp_path / "s", cfg, sink=events.append)
    assert [e.start_step for e in events if isinstance(e, Started)] == [5]  # resumed, not restarted
    assert [e.epoch for e in events if isinstance(e, Metrics)] == [2, 3]
    assert res.best_path.is_file() and "acc" in res.start and "acc" in res.best
    again = run_stage(task(), tmp_path / "s", cfg, sink=events.append)
    assert again.best == res.best and sum(isinstance(e, Started) for e in events) == 1


def test_channels_last_reaches_the_distillation_teacher(digit_dataset, tmp_path):
    root, truth = digit_dataset
    data = _data(root)
    n = data.charset.num_classes
    task = StudentTask(build_model("ssl-test-small", num_classes=n), data, _pseudo(root, truth, 8),
                       teacher=build_model("ssl-test-large", num_classes=n), ema_decay=0.5)
    assert task.aux_models() == [task.ema.module, task.teacher]
    cfg = train_config(OptimCfg(epochs=1, learning_rate=1e-3, batch_size=8, warmup_steps=0), task, tmp_path / "s",
                       device="cpu", seed=0, model_kwargs={}, channels_last=True)
    run_stage(task, tmp_path / "s", cfg, sink=ignore)
    for module in (task.model, *task.aux_models()):
        convs = [m.weight for m in module.modules() if isinstance(m, torch.nn.Conv2d)]
        assert convs and all(w.is_contiguous(memory_format=torch.channels_last) for w in convs)
