"""SVTR neck of PP-OCRv4 recognition (PaddleOCR's ``EncoderWithSVTR``), written from its published structure.

``[N, C, 1, T]`` backbone features → conv(1x3, C/8) → conv(1x1, dims) → ``depth`` global-attention transformer
blocks → LayerNorm → conv(1x1, C) → concat with the input → conv(1x3, C/8) → conv(1x1, dims) → ``[N, T, dims]``.
Convs are conv + BatchNorm + swish. ``use_guide`` detaches the neck input (PaddleOCR does so when a second,
attention head trains the backbone); without that head, keep it ``False`` so CTC fine-tuning reaches the backbone.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ConvBNSwish(nn.Module):
    """Conv (no bias) + BatchNorm + swish (``groups=in_ch`` for a depthwise conv)."""

    def __init__(self, in_ch: int, out_ch: int, kernel: tuple[int, int] = (1, 1), groups: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch, kernel, padding=(kernel[0] // 2, kernel[1] // 2), groups=groups,
                              bias=False)
        self.norm = nn.BatchNorm2d(out_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.silu(self.norm(self.conv(x)))


class Attention(nn.Module):
    """Multi-head global self-attention with a fused qkv projection."""

    def __init__(self, dim: int, num_heads: int = 8, qkv_bias: bool = True):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"attention dim {dim} is not divisible by num_heads {num_heads}")
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, t, c = x.shape
        qkv = self.qkv(x).reshape(n, t, 3, self.num_heads, c // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0] * self.scale, qkv[1], qkv[2]
        attn = (q @ k.transpose(-2, -1)).softmax(dim=-1)
        out = (attn @ v).transpose(1, 2).reshape(n, t, c)
        return self.proj(out)


class Mlp(nn.Module):
    """Linear → swish → linear."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.silu(self.fc1(x)))


class Block(nn.Module):
    """Post-norm-free transformer block: ``x + attn(norm1(x))`` then ``x + mlp(norm2(x))``."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float = 2.0, eps: float = 1e-5):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.mixer = Attention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.mixer(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class SVTRNeck(nn.Module):
    """PP-OCRv4's SVTR sequence encoder; output ``[N, T, dims]`` from ``[N, in_channels, 1, T]``."""

    def __init__(self, in_channels: int, dims: int = 120, depth: int = 2, num_heads: int = 8,
                 mlp_ratio: float = 2.0, use_guide: bool = False):
        super().__init__()
        self.use_guide = use_guide
        self.out_channels = dims
        self.conv1 = ConvBNSwish(in_channels, in_channels // 8, (1, 3))
        self.conv2 = ConvBNSwish(in_channels // 8, dims)
        self.blocks = nn.ModuleList(Block(dims, num_heads, mlp_ratio) for _ in range(depth))
        self.norm = nn.LayerNorm(dims, eps=1e-6)
        self.conv3 = ConvBNSwish(dims, in_channels)
        self.conv4 = ConvBNSwish(2 * in_channels, in_channels // 8, (1, 3))
        self.conv1x1 = ConvBNSwish(in_channels // 8, dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.use_guide:
            x = x.detach()
        z = self.conv2(self.conv1(x))
        n, c, h, w = z.shape
        z = z.flatten(2).transpose(1, 2)
        for blk in self.blocks:
            z = blk(z)
        z = self.norm(z)
        z = z.reshape(n, h, w, c).permute(0, 3, 1, 2)
        z = self.conv3(z)
        z = self.conv1x1(self.conv4(torch.cat([x, z], dim=1)))
        if z.shape[2] != 1:
            raise ValueError(f"SVTR neck expects feature height 1 (input height 48), got {z.shape[2]}")
        return z.squeeze(2).transpose(1, 2)
