"""The allocator of CPU training: the hint of `semiocr train`, the preload of managed runs (semiocr.core.allocator)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from semiocr.core.allocator import CACHING_ALLOCATORS, allocator_hint, find_library, loaded_allocator, preload_env

GLIBC_MAPS = "7f00-7f01 r-xp 00000000 08:01 1 /usr/lib/x86_64-linux-gnu/libc.so.6\n"
TCMALLOC_MAPS = GLIBC_MAPS + "7f02-7f03 r-xp 00000000 08:01 2 /usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4\n"


def test_loaded_allocator_reads_the_process_maps() -> None:
    assert loaded_allocator(GLIBC_MAPS) is None
    assert loaded_allocator(TCMALLOC_MAPS) == "tcmalloc"
    assert loaded_allocator(GLIBC_MAPS + "x /usr/lib/libjemalloc.so.2\n") == "jemalloc"


def test_find_library_looks_in_the_given_dirs(tmp_path: Path) -> None:
    assert find_library("libtcmalloc_minimal.so.4", (str(tmp_path),)) is None
    (tmp_path / "libtcmalloc_minimal.so.4").write_bytes(b"")
    assert find_library("libtcmalloc_minimal.so.4", (str(tmp_path / "none"), str(tmp_path))) == \
        tmp_path / "libtcmalloc_minimal.so.4"


def test_hint_names_the_installed_library_or_how_to_install_it(tmp_path: Path) -> None:
    assert "apt install libtcmalloc-minimal4" in allocator_hint("cpu", GLIBC_MAPS, (str(tmp_path),))
    (tmp_path / "libtcmalloc_minimal.so.4").write_bytes(b"")
    hint = allocator_hint("cpu", GLIBC_MAPS, (str(tmp_path),))
    assert f"LD_PRELOAD={tmp_path / 'libtcmalloc_minimal.so.4'}" in hint


def test_no_hint_on_cuda_or_with_tcmalloc_loaded(tmp_path: Path) -> None:
    assert allocator_hint("cuda:0", GLIBC_MAPS, (str(tmp_path),)) is None
    assert allocator_hint("cpu", TCMALLOC_MAPS, (str(tmp_path),)) is None
    assert "jemalloc's malloc" in allocator_hint("cpu", GLIBC_MAPS + "x /usr/lib/libjemalloc.so.2\n", (str(tmp_path),))


@pytest.mark.skipif(find_library(CACHING_ALLOCATORS["tcmalloc"]) is None, reason="tcmalloc is not installed")
def test_a_preloaded_tcmalloc_is_seen_in_the_child() -> None:
    lib = str(find_library(CACHING_ALLOCATORS["tcmalloc"]))
    base = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
    assert _child_allocator(base) == "None"
    assert _child_allocator({**base, "LD_PRELOAD": lib}) == "tcmalloc"


def _child_allocator(env: dict[str, str]) -> str:
    code = "from semiocr.core.allocator import loaded_allocator; print(loaded_allocator())"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          check=True).stdout.strip()


def test_preload_env_puts_tcmalloc_first_and_respects_a_chosen_allocator(tmp_path: Path) -> None:
    assert preload_env({}, (str(tmp_path),)) == {}  # not installed: nothing to preload
    lib = tmp_path / "libtcmalloc_minimal.so.4"
    lib.write_bytes(b"")
    dirs = (str(tmp_path),)
    assert preload_env({}, dirs) == {"LD_PRELOAD": str(lib)}
    assert preload_env({"LD_PRELOAD": "/opt/libhook.so"}, dirs) == {"LD_PRELOAD": f"{lib} /opt/libhook.so"}
    assert preload_env({"LD_PRELOAD": "/usr/lib/libjemalloc.so.2"}, dirs) == {}
