import pytest
import torch

from semiocr.core.training.config import LoopConfig
from semiocr.core.training.precision import native_bf16, step_dtype

SAPPHIRE = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_bf16 amx_tile amx_bf16\n"
SKYLAKE = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512bw avx512_vnni\n"


def test_native_bf16_reads_the_cpu_flags():
    assert native_bf16(SAPPHIRE) and not native_bf16(SKYLAKE)
    assert not native_bf16("")  # no flags line (e.g. not Linux): off


def test_step_dtype_per_device_and_setting(monkeypatch):
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert step_dtype(cuda, True, False) == torch.float16 and step_dtype(cuda, False, True) is None
    assert step_dtype(cpu, True, False) is None and step_dtype(cpu, True, True) == torch.bfloat16
    monkeypatch.setattr("semiocr.core.training.precision.native_bf16", lambda: False)
    assert step_dtype(cpu, True, "auto") is None
    monkeypatch.setattr("semiocr.core.training.precision.native_bf16", lambda: True)
    assert step_dtype(cpu, True, "auto") == torch.bfloat16


def test_cpu_bf16_accepts_true_false_and_auto_only():
    assert LoopConfig(cpu_bf16="auto").cpu_bf16 == "auto" and LoopConfig(cpu_bf16=True).cpu_bf16 is True
    with pytest.raises(ValueError, match="cpu_bf16"):
        LoopConfig(cpu_bf16="sometimes")
