"""The worker's memory: freed memory goes back to the system, so a pod's RSS follows what its
requests hold now; and the garbage collector skips the startup heap.

glibc serves each thread from an arena of its own and keeps what is freed there for reuse; Pillow
decodes into 16 MB blocks, under glibc's mmap threshold once that has grown. Four decoding threads
each kept the blocks of the largest image they had seen: 16 solid-colour 6000x6000 PNGs, decoded one
at a time, took the person worker to 2.9 GB. With a fixed mmap threshold, blocks that large are
mapped and unmapped on their own; two arenas bound what small allocations keep.

The threshold sits between a screenshot's buffers and those blocks. At 1 MB, every decoded
1280x720 screenshot (3.7 MB) was mapped afresh and its pages zeroed by the kernel: 1,800 page
faults and 6.7 ms of system time a request, a fifth of wallhack's CPU. Below 12 MB (a 1080p frame
decodes into 8.3 MB) buffers come from the arenas, and each arena hands back what is free at its
top past 32 MB instead of glibc's 128 KB, so the next request finds its pages mapped."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc

M_ARENA_MAX, M_MMAP_THRESHOLD, M_TRIM_THRESHOLD = -8, -3, -1  # glibc's malloc.h
MMAP_THRESHOLD = 12 * 1024 * 1024
TRIM_THRESHOLD = 32 * 1024 * 1024
ARENAS = 2


def return_freed_memory() -> bool:
    """Set glibc's malloc options for this process; False where the C library is not glibc."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return all(libc.mallopt(option, value) for option, value in
                   ((M_MMAP_THRESHOLD, MMAP_THRESHOLD), (M_TRIM_THRESHOLD, TRIM_THRESHOLD), (M_ARENA_MAX, ARENAS)))
    except (OSError, AttributeError):
        return False


def skip_startup_objects_in_collections() -> None:
    """Move every object made so far (the imported modules: ~250,000 with pandas and torch) out of
    the collector's reach. A full collection scans every tracked object while holding the GIL, and
    a 10,000-event batch's objects set off several: each stalled every other thread of the worker
    (/score's among them) for 0.3-0.4 s; without the startup heap, ~0.05 s."""
    gc.freeze()
