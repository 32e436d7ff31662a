"""Host memory during training: what one step frees stays for the next step.

A training step allocates the same large temporaries at every step (the
gathered batch, the layers' outputs, the matrix products of the backward pass)
and frees them at its end.  glibc's ``malloc`` hands the top of its heap back to
the system whenever more than ``M_TRIM_THRESHOLD`` bytes lie free there; its
dynamic rule sets that threshold to twice the largest block freed so far.  A
step whose temporaries add up to more than that gives its memory back at every
step and takes it again at the next, one page fault per 4 KiB.  On a 2-core
CPU, float64 at batch 128 of the 784-256-256-10 network took 870 faults per
step and its epochs 1.9x the time they take with the memory kept; float32 at
batch 1024, 1,600 faults per step and 1.5x the time.

While a fit runs, :func:`keep_freed_memory` sets the thresholds to what keeps a
step's memory in the heap: blocks up to 32 MiB (the most glibc's own rule ever
allows) come from the heap, and the heap is trimmed only past 256 MiB free.
When the outermost fit ends, ``malloc_trim`` returns what is free to the system
and the trim threshold goes down to 64 MiB: the state glibc's dynamic rule
itself reaches once a 32 MiB block has been freed (its thresholds cannot be read,
so they cannot be put back as they were).  Elsewhere than glibc (macOS,
Windows, musl) nothing is changed.
"""

from __future__ import annotations

import contextlib
import ctypes
import platform
import threading

# mallopt's parameter numbers (glibc's malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

#: Blocks up to this size come from the heap, not from their own mapping.
MMAP_THRESHOLD = 32 * 2 ** 20
#: During a fit, the heap is trimmed only when more than this lies free at its top.
TRIM_THRESHOLD = 256 * 2 ** 20
#: After it, glibc's own dynamic value for blocks of MMAP_THRESHOLD.
TRIM_THRESHOLD_AFTER = 2 * MMAP_THRESHOLD

_libc = None
_depth = 0  # fits running now, in any thread
_lock = threading.Lock()


def _glibc():
    """The C library when it is glibc, else ``None``; looked up once."""
    global _libc
    if _libc is None:
        _libc = False
        if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
            try:
                _libc = ctypes.CDLL(None)
                _libc.mallopt, _libc.malloc_trim  # both exist in every glibc
            except (OSError, AttributeError):  # pragma: no cover - a stripped environment
                _libc = False
    return _libc or None


@contextlib.contextmanager
def keep_freed_memory():
    """A context in which freed host memory stays in the process for reuse (glibc only).

    Nested contexts, and those of fits running in other threads, act as one:
    the thresholds are set on the first entry and the free memory is returned
    on the last exit.
    """
    global _depth
    libc = _glibc()
    if libc is None:
        yield
        return
    with _lock:
        if _depth == 0:
            libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
            libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                libc.malloc_trim(0)
                libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_AFTER)
