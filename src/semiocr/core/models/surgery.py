"""CTC-head surgery: move a recognizer to a new charset, keeping what it learnt for shared characters."""

from __future__ import annotations

import torch
from torch import nn

from semiocr.runtime.charset import Charset


def head_fc(model: nn.Module) -> nn.Linear:
    """The final classifier ``model.head.fc`` (the contract of every recognition model)."""
    fc = getattr(getattr(model, "head", None), "fc", None)
    if not isinstance(fc, nn.Linear):
        raise TypeError(f"{type(model).__name__} has no nn.Linear at model.head.fc; cannot adapt the CTC head")
    return fc


def adapt_ctc_head(model: nn.Module, old: Charset, new: Charset) -> int:
    """Rebuild ``model.head.fc`` for charset ``new``; copy weight and bias rows of classes in both charsets.

    The blank (class 0) is always carried. Rows of new characters get a fresh initialisation. Returns the
    number of rows carried over (blank included). Raises ``ValueError`` if the head does not match ``old``.
    """
    fc = head_fc(model)
    if fc.out_features != old.num_classes:
        raise ValueError(f"model head has {fc.out_features} classes but the old charset has {old.num_classes}")
    new_fc = nn.Linear(fc.in_features, new.num_classes, bias=fc.bias is not None)
    new_fc.to(device=fc.weight.device, dtype=fc.weight.dtype)
    old_index = {c: i for i, c in enumerate(old.classes)}
    pairs = [(j, old_index[c]) for j, c in enumerate(new.classes) if c in old_index]
    with torch.no_grad():
        dst = torch.tensor([j for j, _ in pairs], dtype=torch.long, device=fc.weight.device)
        src = torch.tensor([i for _, i in pairs], dtype=torch.long, device=fc.weight.device)
        new_fc.weight[dst] = fc.weight[src]
        if fc.bias is not None:
            new_fc.bias[dst] = fc.bias[src]
    model.head.fc = new_fc
    return len(pairs)


#: bias given to classes a restricted head never learnt: their probability is ~exp(-1e4), i.e. never predicted
NEVER = -1e4


def restrict_ctc_head(model: nn.Module, old: Charset, new: Charset) -> int:
    """``adapt_ctc_head`` for a frozen reader (a teacher): classes of ``new`` that ``old`` lacks get a zero weight
    row and bias ``NEVER`` instead of a fresh initialisation, so the model only ever reads characters it knows,
    renormalised over ``new``. Returns the number of rows carried over (blank included)."""
    carried = adapt_ctc_head(model, old, new)
    fc = head_fc(model)
    unknown = [j for j, c in enumerate(new.classes) if j and c not in old]
    if unknown:
        with torch.no_grad():
            rows = torch.tensor(unknown, dtype=torch.long, device=fc.weight.device)
            fc.weight[rows] = 0.0
            if fc.bias is not None:
                fc.bias[rows] = NEVER
    return carried
