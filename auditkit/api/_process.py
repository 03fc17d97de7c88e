"""Process memory settings for large audits.

The metrics of a large audit allocate and free arrays of hundreds of megabytes, one after
another. glibc's ``malloc`` hands each such block back to the kernel on ``free`` (``munmap``),
so the next one is fresh memory that the kernel must fault in and zero, page by page. On
virtual machines that return a guest's free memory to the host (a virtio balloon with free
page reporting), every such page is also a fault on the host, and a whole audit can spend more
time there than computing. Keeping freed memory in the process for the next allocation avoids
all of it; the process's resident memory then stays at its peak until it exits.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from functools import cache

import pyarrow as pa

# glibc's mallopt(3) parameters.
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4


@cache
def retain_freed_memory() -> bool:
    """Keep memory the process frees for its own later allocations (glibc on Linux only).

    Sets ``M_MMAP_MAX`` to 0 (large blocks come from the heap, not from their own mappings)
    and ``M_TRIM_THRESHOLD`` to -1 (the heap is never trimmed), as mallopt(3) documents, and
    makes Arrow (the tables' strings) allocate through the same ``malloc``.
    The ``auditkit`` command calls it at start; a program that runs large audits through the
    Python API may call it too. Returns whether the settings took effect (False on other C
    libraries and platforms, where it changes nothing). Calling it again does nothing more.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        libc.gnu_get_libc_version  # noqa: B018 (a symbol only glibc has)
    except (OSError, AttributeError, TypeError):
        return False
    libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    if not (libc.mallopt(_M_MMAP_MAX, 0) and libc.mallopt(_M_TRIM_THRESHOLD, -1)):
        return False
    pa.set_memory_pool(pa.system_memory_pool())
    return True


__all__ = ["retain_freed_memory"]
