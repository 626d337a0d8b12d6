"""The semi-supervised teacher task: labelled ∪ filtered pseudo-labels, strong augmentation, EMA weights,
optional online consistency (FixMatch-style: the EMA model reads a weak view of unlabelled images; readings
above a confidence gate become CTC targets for a strong view of the same images)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from semiocr.core.augment import strong, weak
from semiocr.core.data.images import read_image
from semiocr.core.ssl.common import MixedBatch, RecTaskBase, TaskData
from semiocr.core.ssl.pseudo_label import PseudoLabel
from semiocr.core.weights.checkpoint import CheckpointMeta
from semiocr.runtime.ctc import ctc_greedy_decode
from semiocr.runtime.rec_preprocess import preprocess_batch


@dataclass
class TeacherBatch:
    """Supervised part plus, with online consistency, weak-view tensor and strong-view images of unlabelled lines."""

    sup: MixedBatch
    weak_x: torch.Tensor | None = None
    strong_images: list[np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.sup)


class TeacherTask(RecTaskBase):
    """One round of semi-supervised training of the large model (round 0 = supervised warm-up)."""

    task_name = "ssl-teacher"

    def __init__(self, model: nn.Module, data: TaskData, pseudo: Sequence[PseudoLabel] = (), *, round_index: int = 0,
                 labelled_share: float = 0.5, pseudo_weight: float = 1.0, ema_decay: float | None = 0.999,
                 ema_warmup_steps: int = 0, unlabelled: Sequence[Path] = (), consistency_weight: float = 0.0,
                 consistency_threshold: float = 0.5, consistency_batch: int = 16, seed: int = 0,
                 parent: str | None = None):
        super().__init__(model, data, pseudo, labelled_share, pseudo_weight, ema_decay, ema_warmup_steps, seed,
                         parent)
        self.round_index = round_index
        self.unlabelled = list(unlabelled)
        self.consistency_weight = consistency_weight
        self.consistency_threshold = consistency_threshold
        self.consistency_batch = consistency_batch
        if consistency_weight > 0 and not self.unlabelled:
            raise ValueError("online consistency needs unlabelled images")
        if consistency_weight > 0 and self.ema is None:
            raise ValueError("online consistency reads the weak view with the EMA model: set ema_decay")

    def make_batch(self, mixed: MixedBatch, epoch: int, index: int) -> TeacherBatch:
        if self.consistency_weight <= 0:
            return TeacherBatch(mixed)
        rng = np.random.default_rng([self.seed, self.round_index, epoch, index])
        pick = rng.choice(len(self.unlabelled), size=min(self.consistency_batch, len(self.unlabelled)),
                          replace=False)
        raw = [read_image(self.unlabelled[i]) for i in pick]
        weak_x = torch.from_numpy(preprocess_batch([weak(im, rng) for im in raw], max_width=self.data.max_width))
        return TeacherBatch(mixed, weak_x.to(self.device), [strong(im, rng) for im in raw])

    def extra_loss(self, model: nn.Module, batch: Any, logits: torch.Tensor, logs: dict[str, float]
                   ) -> torch.Tensor | None:
        if batch.weak_x is None:
            return None
        term = self._consistency(model, batch, logs)
        return None if term is None else self.consistency_weight * term

    def _consistency(self, model: nn.Module, batch: TeacherBatch, logs: dict[str, float]) -> torch.Tensor | None:
        """CTC loss of the strong view against the EMA model's confident reading of the weak view."""
        with torch.no_grad():
            probs = self.ema.module(batch.weak_x).float().softmax(-1)
        decoded = ctc_greedy_decode(probs.cpu().numpy(), self.data.charset)
        keep = [i for i, d in enumerate(decoded) if d.text and d.confidence >= self.consistency_threshold]
        logs["cons_kept"] = len(keep) / max(len(decoded), 1)
        if not keep:
            return None
        items = [(batch.strong_images[i], decoded[i].text, "") for i in keep]
        views = self.collate(items).to(self.device)
        loss = self.loss_fn(model(views.images), views.targets, views.target_lengths).mean()
        logs["cons"] = float(loss.detach())
        return loss

    def checkpoint_meta(self) -> CheckpointMeta:
        meta = super().checkpoint_meta()
        meta.extra["round"] = self.round_index
        return meta

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "round": self.round_index}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if "round" in state and int(state["round"]) != self.round_index:
            raise ValueError(f"checkpoint belongs to round {state['round']}, this task is round {self.round_index}")
        super().load_state_dict(state)
