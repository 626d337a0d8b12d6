from pathlib import Path

import pytest
import torch

from semiocr.core.charset import Charset
from semiocr.core.data.labels import read_labelled
from semiocr.core.models.registry import build_model
from semiocr.core.ssl.common import TaskData
from semiocr.core.ssl.config import OptimCfg
from semiocr.core.ssl.pseudo_label import PseudoLabel
from semiocr.core.ssl.stage import StageStopped, run_stage
from semiocr.core.ssl.student import StudentTask
from semiocr.core.ssl.teacher import TeacherTask
from semiocr.core.training.task import TrainTask


def _data(root: Path, batch_size: int = 8) -> TaskData:
    cs = Charset.from_file(root / "dict.txt", use_space=False)
    return TaskData(cs, read_labelled(root, "train.txt"), read_labelled(root, "val.txt"), min_width=64,
                    batch_size=batch_size)


def _pseudo(root: Path, truth: dict[str, str], n: int) -> list[PseudoLabel]:
    return [PseudoLabel(root / rel, text, 0.9) for rel, text in list(truth.items())[:n]]


def test_teacher_task_mixes_pseudo_runs_consistency_and_updates_ema(digit_dataset):
    torch.manual_seed(0)
    root, truth = digit_dataset
    data = _data(root)
    model = build_model("ssl-test-large", num_classes=data.charset.num_classes)
    unl = [root / r for r in truth]
    task = TeacherTask(model, data, _pseudo(root, truth, 16), round_index=2, labelled_share=0.5, ema_decay=0.5,
                       unlabelled=unl, consistency_weight=1.0, consistency_threshold=0.0, consistency_batch=4)
    assert isinstance(task, TrainTask)
    batch = next(iter(task.train_batches(0)))
    assert len(batch) == 8 and batch.weak_x.shape[0] == 4 and len(batch.strong_images) == 4
    out = task.training_step(task.model, batch)
    assert out.loss.requires_grad and out.logs["round"] == 2.0 and "cons" in out.logs
    before = task.ema.module.head.fc.weight.clone()
    out.loss.backward()
    torch.optim.SGD(task.model.parameters(), lr=0.1).step()
    task.after_optimizer_step(1)
    assert not torch.equal(before, task.ema.module.head.fc.weight)
    assert task.eval_module() is task.ema.module
    assert set(task.evaluate()) == {"acc", "norm_edit"}
    with pytest.raises(ValueError, match="round 1"):
        task.load_state_dict({**task.state_dict(), "round": 1})


def test_student_task_uses_frame_kl_only_when_frames_align(digit_dataset):
    root, truth = digit_dataset
    data = _data(root)
    n = data.charset.num_classes
    student = build_model("ssl-test-small", num_classes=n)
    aligned = StudentTask(student, data, _pseudo(root, truth, 8), teacher=build_model("ssl-test-large", num_classes=n))
    out = aligned.training_step(aligned.model, next(iter(aligned.train_batches(0))))
    assert aligned.kd_active is True and out.logs["kd"] > 0
    assert all(not p.requires_grad for p in aligned.teacher.parameters())
    other = build_model("ssl-test-large", num_classes=n, stride=8)  # T = W/8 vs W/4
    misaligned = StudentTask(build_model("ssl-test-small", num_classes=n), data, teacher=other)
    out = misaligned.training_step(misaligned.model, next(iter(misaligned.train_batches(0))))
    assert misaligned.kd_active is False and "kd" not in out.logs


def test_task_rejects_labels_outside_charset(digit_dataset):
    root, _ = digit_dataset
    data = _data(root)
    bad = [PseudoLabel(root / "x.png", "12a", 0.99)]
    with pytest.raises(ValueError, match="not in the charset"):
        StudentTask(build_model("ssl-test-small", num_classes=data.charset.num_classes), data, bad)


def test_run_stage_learns_saves_best_and_resumes_after_stop(digit_dataset, tmp_path):
    torch.manual_seed(0)
    root, _ = digit_dataset
    data = _data(root)
    optim = OptimCfg(epochs=3, lr=3e-3, batch_size=8, warmup_epochs=0)

    def task():
        return TeacherTask(build_model("ssl-test-small", num_classes=data.charset.num_classes), data, ema_decay=None)

    calls = {"n": 0}

    def stop_in_epoch_2():
        calls["n"] += 1
        return calls["n"] > 4  # 3 batches per epoch: stops during the second epoch

    events = []
    with pytest.raises(StageStopped):
        run_stage(task(), tmp_path / "s", optim, name="s", sink=lambda k, p: events.append((k, dict(p))),
                  should_stop=stop_in_epoch_2)
    assert torch.load(tmp_path / "s" / "last.pt", weights_only=False)["state"]["epoch"] == 1
    events.clear()
    res = run_stage(task(), tmp_path / "s", optim, name="s", sink=lambda k, p: events.append((k, dict(p))))
    epochs = [p["epoch"] for k, p in events if k == "metrics"]
    assert epochs == [2, 3]  # resumed after epoch 1, did not start over
    assert res.best["acc"] >= res.start["acc"] and res.best_path.is_file()
    assert (tmp_path / "s" / "done.json").is_file()
    again = run_stage(task(), tmp_path / "s", optim, name="s")
    assert again.best == res.best
