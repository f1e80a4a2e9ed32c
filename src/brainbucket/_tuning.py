"""Process-wide tuning of glibc's allocator for large streamed downloads.

The Rust data path hands each ~1 MiB chunk of a download over in a freshly allocated buffer.
glibc serves allocations above its mmap threshold (128 KiB at start) with a new ``mmap`` and
returns them with ``munmap``, so every chunk costs ~256 page faults and zeroing of fresh pages.
The threshold does adapt upwards once such a block is freed, but in a process with many
transfers in flight it keeps falling back. Raising the mmap threshold and the trim threshold
once at start-up lets freed chunks be reused from the heap instead.

This changes the whole process, so the library never does it on import: the command-line tool
calls :func:`tune_allocator` at start-up, and a program embedding brainbucket may do the same.
``BRAINBUCKET_MALLOC_TUNING=0`` turns it off (for measurements and for allocator debugging).
"""

from __future__ import annotations

import ctypes
import os
import sys

__all__ = ["tune_allocator"]

# From glibc's <malloc.h>.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

# glibc caps the mmap threshold at 32 MiB on 64-bit systems (HEAP_MAX_SIZE / 2).
MMAP_THRESHOLD = 32 * 1024 * 1024
TRIM_THRESHOLD = 256 * 1024 * 1024

_state: dict[str, bool] = {}


def tune_allocator() -> bool:
    """Raise glibc malloc's mmap and trim thresholds once; ``True`` if it took effect.

    Does nothing (and returns ``False``) off Linux, with a C library that has no ``mallopt``
    (musl), or when ``BRAINBUCKET_MALLOC_TUNING=0``.

    Examples
    --------
    >>> isinstance(tune_allocator(), bool)
    True
    """
    if "done" in _state:
        return _state["done"]
    _state["done"] = False
    if not sys.platform.startswith("linux"):
        return False
    if os.environ.get("BRAINBUCKET_MALLOC_TUNING", "").strip().lower() in (
        "0",
        "false",
        "no",
        "off",
    ):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    ok = mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
    ok = mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1 and ok
    _state["done"] = ok
    return ok
