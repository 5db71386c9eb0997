"""A process-wide memory setting for the commands that move large tensors every step."""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

_M_TRIM_THRESHOLD = -1  # glibc mallopt parameters (malloc.h)
_M_MMAP_MAX = -4


def keep_freed_memory() -> bool:
    """Make glibc keep freed memory for reuse instead of handing it back to the OS.

    Every training step frees and re-allocates the same large tensors (a 64 × 224² float
    batch is 38.5 MB). glibc serves blocks over 32 MB with fresh ``mmap`` pages and unmaps
    them on free, so each step page-faults them in again, where reused memory is already
    mapped. Preloading jemalloc or tcmalloc, as
    PyTorch's CPU tuning guide suggests, has the same effect; this needs no preload. Returns
    whether it applied (glibc only; elsewhere nothing changes)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    return bool(mallopt(_M_MMAP_MAX, 0) and mallopt(_M_TRIM_THRESHOLD, 1 << 30))
