"""Multi-device training with ``torchrun --nproc_per_node N``: the same code path for 1 and N processes.

``torchrun`` sets ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``; without them the run is single-process.
Backend: NCCL on CUDA, gloo on CPU (used by the tests with two CPU processes).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

import torch
import torch.distributed as dist
from torch import nn

from semiocr.core.inference.device import resolve_device


@dataclass(frozen=True)
class DistContext:
    """Where this process sits in the run."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def init_distributed(device_spec: str = "auto") -> DistContext:
    """Join the torchrun process group when launched by torchrun; otherwise a world of one."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = resolve_device(device_spec, local_rank)
    if world > 1 and not dist.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return DistContext(rank, world, local_rank, device)


def wrap_model(model: nn.Module, ctx: DistContext) -> nn.Module:
    """DDP-wrap for the forward/backward pass when distributed; the bare model otherwise."""
    if not ctx.distributed:
        return model
    ids = [ctx.device.index] if ctx.device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(model, device_ids=ids)


def barrier(ctx: DistContext) -> None:
    if ctx.distributed:
        dist.barrier()


def any_true(flag: bool, ctx: DistContext) -> bool:
    """True on every rank when ``flag`` is true on any rank (stop requests)."""
    if not ctx.distributed:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=ctx.device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


def broadcast_object(obj: Any, ctx: DistContext) -> Any:
    """Rank 0's ``obj`` on every rank."""
    if not ctx.distributed:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def mean_across(value: float, ctx: DistContext) -> float:
    if not ctx.distributed:
        return value
    t = torch.tensor([value], dtype=torch.float64, device=ctx.device)
    dist.all_reduce(t)
    return float(t.item()) / ctx.world_size


def cleanup(ctx: DistContext, sync: bool = True) -> None:
    """Leave the process group. ``sync`` waits for every rank first (the normal end of a run): a rank that
    tears gloo down while a peer is still in a collective aborts the peer. Pass ``sync=False`` on errors."""
    if ctx.distributed and dist.is_initialized():
        if sync:
            dist.barrier()
        dist.destroy_process_group()


def in_torchrun_world() -> bool:
    """True in a rank of a torchrun world of more than one process."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def run_and_exit(main: Callable[[], object]) -> NoReturn:
    """Run ``main`` (the command of a torchrun rank) and end the process with its exit code, skipping the
    interpreter's finalisation (``atexit`` handlers still run, output is flushed).

    Why: gloo's worker threads drop their hold on a collective's tensors a moment after the collective returns.
    A tensor that Python has let go of by then needs the GIL to be freed; once the interpreter is finalising, a
    thread that asks for the GIL is ended with ``pthread_exit``, which C++ turns into ``std::terminate``: the rank
    dies with SIGABRT ("terminate called without an active exception") after its work is done, and torchrun calls
    the whole run failed. ``destroy_process_group()`` does not join those threads while a DDP model holds the
    group. Exit codes as the interpreter's own: SystemExit's code, 1 after an uncaught exception (printed by
    ``sys.excepthook``), 130 after Ctrl-C."""
    try:
        main()
        code = 0
    except SystemExit as e:
        code = _system_exit_code(e.code)
    except KeyboardInterrupt:
        code = 130
    except BaseException as e:  # noqa: BLE001 - printed as an uncaught exception would be
        sys.excepthook(type(e), e, e.__traceback__)
        code = 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed or broken stream: nothing more to say there
            stream.flush()
    os._exit(code)


def _system_exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def max_divergence(model: nn.Module, ctx: DistContext) -> float:
    """Largest absolute difference between this rank's parameters and rank 0's (0.0 when not distributed)."""
    if not ctx.distributed:
        return 0.0
    flat = torch.cat([p.detach().reshape(-1).float() for p in model.parameters()])
    ref = flat.clone()
    dist.broadcast(ref, src=0)
    diff = torch.tensor([float((flat - ref).abs().max())], device=ctx.device)
    dist.all_reduce(diff, op=dist.ReduceOp.MAX)
    return float(diff.item())
