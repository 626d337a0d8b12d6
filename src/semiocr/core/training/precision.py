"""Which reduced precision a training step runs in: float16 AMP on CUDA, bfloat16 autocast on CPU when asked.

bfloat16 on a CPU only pays where the instructions exist (AVX512-BF16 or AMX); elsewhere oneDNN emulates it and
the steps get slower, so ``cpu_bf16: auto`` turns it on only for CPUs that advertise them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import torch

#: CPU flags (Linux /proc/cpuinfo) of native bfloat16 arithmetic
BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


def native_bf16(cpuinfo: str | None = None) -> bool:
    """Whether the CPU advertises native bfloat16 instructions (``cpuinfo``: /proc/cpuinfo's text; read from the
    machine when None; False where it cannot be read)."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return False
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return bool(BF16_FLAGS & set(value.split()))
    return False


def step_dtype(device: torch.device, amp: bool, cpu_bf16: bool | Literal["auto"]) -> torch.dtype | None:
    """The autocast dtype of the training steps on ``device`` (None: float32)."""
    if device.type == "cuda":
        return torch.float16 if amp else None
    if device.type == "cpu" and (cpu_bf16 is True or (cpu_bf16 == "auto" and native_bf16())):
        return torch.bfloat16
    return None
