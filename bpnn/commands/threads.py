"""How many threads ``bpnn train`` gives the BLAS and PyTorch thread pools.

A small network's matrix products take microseconds; split over many threads,
each product pays for waking and joining them, and on a machine busy with other
work a thread that is not scheduled holds every step up (iris on PyTorch: 15.6 s
with the pools at full width against 0.5 s with one thread).  So a step of
fewer than :data:`SMALL_FLOPS` floating-point operations gets one thread, and a
larger one every core this process may run on.  ``--threads N`` sets it.
"""

from __future__ import annotations

import contextlib
import os

#: Below this many floating-point operations per training step, one thread.  A step
#: is about ``6 * batch * weights`` (2 for the forward products, 4 for the backward).
SMALL_FLOPS = 2e7


def cores():
    """The cores this process may run on (its CPU affinity), else the machine's."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def step_flops(sizes, batch_size):
    """Floating-point operations of one training step of dense layers ``sizes``."""
    weights = sum(n_in * n_out for n_in, n_out in zip(sizes, sizes[1:]))
    return 6.0 * batch_size * weights


def choose(sizes, batch_size, requested=None):
    """``(threads, why)``: ``requested`` (``--threads``) when given, else 1 for a step
    under :data:`SMALL_FLOPS` and :func:`cores` above it."""
    if requested:
        return requested, "--threads"
    flops = step_flops(sizes, batch_size)
    if flops < SMALL_FLOPS:
        return 1, f"a small network: {flops:.2g} flops a step"
    return cores(), f"{flops:.2g} flops a step"


@contextlib.contextmanager
def limited(threads, backend):
    """The BLAS pools (threadpoolctl) and the backend's own pool (PyTorch's intra-op
    threads: :meth:`~bpnn.backends.Backend.limit_threads`) held at ``threads`` inside
    the block, and given back after it."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=threads), backend.limit_threads(threads):
        yield


def describe():
    """The thread pools loaded in this process and their widths, as one line."""
    from threadpoolctl import threadpool_info

    pools = [f"{pool.get('internal_api')} {pool.get('num_threads')}" for pool in
             threadpool_info()]
    return ", ".join(pools) if pools else "none loaded"
