"""The semi-supervised teacher task: labelled ∪ filtered pseudo-labels, strong augmentation, EMA weights,
optional online consistency (FixMatch-style: the EMA model reads a weak view; confident readings become CTC
targets for the strong view of the same image)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from semiocr.core.decode import ctc_greedy_decode
from semiocr.core.ssl.augment import strong, weak
from semiocr.core.ssl.common import RecTaskBase, TaskData, ctc_loss
from semiocr.core.ssl.data import RecBatch, collate, images_to_tensor
from semiocr.core.ssl.pseudo_label import PseudoLabel


@dataclass
class TeacherBatch:
    """Supervised part (labelled ∪ pseudo) plus, with online consistency, weak/strong views of unlabelled images."""

    sup: RecBatch
    weak_x: torch.Tensor | None = None
    strong_images: list[np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.sup)


class TeacherTask(RecTaskBase):
    """One round of semi-supervised training of the large model (round 0 = supervised warm-up)."""

    def __init__(self, model: nn.Module, data: TaskData, pseudo: Sequence[PseudoLabel] = (), *, round_index: int = 0,
                 labelled_share: float = 0.5, pseudo_weight: float = 1.0, ema_decay: float | None = 0.999,
                 ema_warmup_steps: int = 0, unlabelled: Sequence[Path] = (), consistency_weight: float = 0.0,
                 consistency_threshold: float = 0.5, consistency_batch: int = 16,
                 device: str | torch.device = "cpu", seed: int = 0):
        super().__init__(model, data, pseudo, labelled_share, pseudo_weight, ema_decay, ema_warmup_steps,
                         device, seed)
        self.round_index = round_index
        self.unlabelled = list(unlabelled)
        self.consistency_weight = consistency_weight
        self.consistency_threshold = consistency_threshold
        self.consistency_batch = consistency_batch
        if consistency_weight > 0 and not self.unlabelled:
            raise ValueError("online consistency needs unlabelled images")
        if consistency_weight > 0 and self.ema is None:
            raise ValueError("online consistency reads the weak view with the EMA model: set ema_decay")

    def _iter_batches(self, rng: np.random.Generator) -> Iterator[Any]:
        for sup in super()._iter_batches(rng):
            if self.consistency_weight <= 0:
                yield TeacherBatch(sup)
                continue
            pick = rng.choice(len(self.unlabelled), size=min(self.consistency_batch, len(self.unlabelled)),
                              replace=False)
            raw = [self.data.store.get(self.unlabelled[i]) for i in pick]
            weak_x, _ = images_to_tensor([weak(im, rng) for im in raw], self.data.min_width, self.data.max_width)
            yield TeacherBatch(sup, weak_x, [strong(im, rng) for im in raw])

    def training_step(self, model: nn.Module, batch: Any):
        out = super().training_step(model, batch.sup)
        if batch.weak_x is not None:
            term = self._consistency(model, batch, out.logs)
            if term is not None:
                out.loss = out.loss + self.consistency_weight * term
        out.logs["round"] = float(self.round_index)
        return out

    def _consistency(self, model: nn.Module, batch: TeacherBatch, logs: dict[str, float]) -> torch.Tensor | None:
        """CTC loss of the strong view against the EMA model's confident reading of the weak view."""
        with torch.no_grad():
            probs = self.ema.module(batch.weak_x.to(self.device)).float().softmax(-1)
        decoded = ctc_greedy_decode(probs, self.data.charset)
        keep = [i for i, d in enumerate(decoded) if d.text and d.confidence >= self.consistency_threshold]
        logs["cons_kept"] = float(len(keep)) / max(len(decoded), 1)
        if not keep:
            return None
        views = collate([batch.strong_images[i] for i in keep], [decoded[i].text for i in keep], self.data.charset,
                        self.data.min_width, self.data.max_width).to(self.device)
        loss = ctc_loss(model(views.x), views)
        logs["cons"] = float(loss.detach())
        return loss

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "round": self.round_index}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        if "round" in state and int(state["round"]) != self.round_index:
            raise ValueError(f"checkpoint belongs to round {state['round']}, this task is round {self.round_index}")
