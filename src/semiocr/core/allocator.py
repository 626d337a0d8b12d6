"""Which memory allocator a CPU training process runs with, and the hint printed when it is glibc's malloc.

With glibc's malloc, activations above its mmap threshold (at most 32 MB) are ``mmap``-ed afresh and returned on
every step, so their pages fault in again each time: at batch 32 of 48×960 lines (long handwritten lines) the
shipped distillation step spent 19 of its 21 s in the kernel. Preloading tcmalloc keeps the pages: 3.4× faster
there, 1.08× at 48×320, with less peak memory (BENCHMARKS.md, ``benchmarks/cpu_allocator.py``); jemalloc with its
defaults did not help. The allocator is fixed when the process starts: ``semiocr train`` only says so (it does not
re-launch itself); the executors of managed runs preload tcmalloc into CPU attempts (``preload_env``), the Ray
executor on the node that runs the job (``ALLOCATOR_ENV``, read by its entry wrapper).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

#: where Debian/Ubuntu/Fedora put shared libraries
LIB_DIRS = ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib")
#: allocators a process may have preloaded: name → shared library (jemalloc with its default decay returns pages
#: much as glibc does and did not help; tcmalloc did)
CACHING_ALLOCATORS = {"tcmalloc": "libtcmalloc_minimal.so.4", "jemalloc": "libjemalloc.so.2"}
#: what a worker's ``--allocator`` may be: tcmalloc preloaded into CPU attempts where installed, or the C library's
#: malloc
ALLOCATORS = ("tcmalloc", "system")
#: the environment variable that asks a job's entry wrapper for ``preload_env`` on its own node
ALLOCATOR_ENV = "SEMIOCR_ALLOCATOR"


def check_allocator(name: str) -> str:
    """``name`` if it is one of ``ALLOCATORS``; ValueError naming the choices otherwise."""
    if name not in ALLOCATORS:
        raise ValueError(f"allocator: {name!r} is not one of {', '.join(ALLOCATORS)}")
    return name


def job_allocator(allocator: str, gpus: int) -> str:
    """The allocator a managed job with ``gpus`` GPUs starts with, on a worker set to ``allocator``: tcmalloc is for
    CPU jobs (the measured gain), a GPU job keeps the system malloc."""
    return allocator if gpus == 0 else "system"


def find_library(name: str, dirs: tuple[str, ...] = LIB_DIRS) -> Path | None:
    """Path of shared library ``name`` in ``dirs``, or None."""
    for d in dirs:
        path = Path(d) / name
        if path.is_file():
            return path
    return None


def loaded_allocator(maps: str | None = None) -> str | None:
    """The caching allocator mapped into this process (``maps``: /proc/self/maps' text, read when None), or None
    (glibc's malloc, or not Linux)."""
    if maps is None:
        try:
            maps = Path("/proc/self/maps").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
    for name in CACHING_ALLOCATORS:
        if f"lib{name}" in maps:
            return name
    return None


def allocator_hint(device: str, maps: str | None = None, dirs: tuple[str, ...] = LIB_DIRS) -> str | None:
    """One line advising tcmalloc for a training job on ``device`` (its config value), or None where it does not
    apply: a CUDA device, not Linux, or tcmalloc already loaded."""
    if device.startswith("cuda") or not Path("/proc").is_dir():
        return None
    loaded = loaded_allocator(maps)
    if loaded == "tcmalloc":
        return None
    lib = find_library(CACHING_ALLOCATORS["tcmalloc"], dirs)
    how = (f"start with LD_PRELOAD={lib}" if lib is not None
           else "install tcmalloc (Debian/Ubuntu: apt install libtcmalloc-minimal4) and preload it with LD_PRELOAD")
    return (f"tip: CPU training with {loaded or 'glibc'}'s malloc faults its large activations in again every "
            f"step; {how} (distillation steps 3.4x faster on 960-pixel-wide lines, BENCHMARKS.md)")


def preload_env(env: Mapping[str, str], dirs: tuple[str, ...] = LIB_DIRS) -> dict[str, str]:
    """The ``LD_PRELOAD`` entry that starts a process with ``env`` under tcmalloc: empty when tcmalloc is not
    installed or ``env`` preloads a caching allocator already; other preloaded libraries are kept after it."""
    current = env.get("LD_PRELOAD", "").strip()
    if any(f"lib{name}" in current for name in CACHING_ALLOCATORS):
        return {}
    lib = find_library(CACHING_ALLOCATORS["tcmalloc"], dirs)
    if lib is None:
        return {}
    return {"LD_PRELOAD": f"{lib} {current}".strip()}
