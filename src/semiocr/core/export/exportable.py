"""Export-time stand-ins for modules whose traced ONNX graph is not shape-generic.

``nn.MultiheadAttention`` (used by ``nn.TransformerEncoderLayer``, e.g. in ``rec-tiny``) traces to a graph whose
reshapes hold the example's sequence length as a constant (torch 2.13's TorchScript exporter): the ONNX file then
fails on any other input width. :func:`exportable_copy` returns a copy of a model in which each such module is
replaced by :class:`ExportAttention`, the same computation written with shapes taken from the input. The export
check compares ONNX Runtime with the *original* model, so the stand-in is checked too.
"""

from __future__ import annotations

import copy
import math

import torch
import torch.nn.functional as F
from torch import nn


class ExportAttention(nn.Module):
    """Inference-time self-attention equal to an ``nn.MultiheadAttention`` with packed input projections
    (no masks, no dropout), with sequence length and batch taken from the input when traced."""

    def __init__(self, mha: nn.MultiheadAttention):
        super().__init__()
        self.num_heads, self.batch_first = mha.num_heads, mha.batch_first
        self.head_dim = mha.embed_dim // mha.num_heads
        self.in_proj_weight = nn.Parameter(mha.in_proj_weight.detach().clone())
        self.in_proj_bias = None if mha.in_proj_bias is None else nn.Parameter(mha.in_proj_bias.detach().clone())
        self.out_proj = copy.deepcopy(mha.out_proj)
        # torch's fused encoder-layer fast path tests this flag: False keeps the layer calling this module
        self._qkv_same_embed_dim = False

    def forward(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, key_padding_mask=None,
                need_weights: bool = False, attn_mask=None, average_attn_weights: bool = True,
                is_causal: bool = False) -> tuple[torch.Tensor, None]:
        if key_padding_mask is not None or attn_mask is not None or is_causal:
            raise NotImplementedError("ExportAttention supports unmasked self-attention only")
        x = query if self.batch_first else query.transpose(0, 1)  # [N, T, E]
        q, k, v = F.linear(x, self.in_proj_weight, self.in_proj_bias).chunk(3, dim=-1)
        q, k, v = (t.unflatten(-1, (self.num_heads, self.head_dim)).transpose(1, 2) for t in (q, k, v))  # [N,H,T,D]
        weights = torch.softmax(torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(self.head_dim), dim=-1)
        out = self.out_proj(torch.matmul(weights, v).transpose(1, 2).flatten(2))  # [N, T, E]
        return (out if self.batch_first else out.transpose(0, 1)), None


def exportable_copy(model: nn.Module) -> tuple[nn.Module, list[str]]:
    """A deep copy of ``model`` with every packed-projection ``nn.MultiheadAttention`` replaced by
    :class:`ExportAttention`; returns the copy and the names of the replaced modules (``model`` is untouched)."""
    replaced = [name for name, m in model.named_modules()
                if isinstance(m, nn.MultiheadAttention) and m._qkv_same_embed_dim and m.in_proj_weight is not None]
    if not replaced:
        return model, []
    out = copy.deepcopy(model)
    for name in replaced:
        parent_name, _, child = name.rpartition(".")
        parent = out.get_submodule(parent_name) if parent_name else out
        setattr(parent, child, ExportAttention(getattr(parent, child)))
    return out.eval(), replaced
