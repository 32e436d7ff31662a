"""Repeated, synchronized timing: the median and the minimum of several runs."""

from __future__ import annotations

import statistics
import time


def timed(run, synchronize=lambda: None, repeats=5, warmup=1):
    """Seconds of ``run()`` for each of ``repeats`` runs after ``warmup`` untimed ones.

    ``synchronize`` is called before each clock read (an asynchronous device
    has finished its queued work when the clock is read).
    """
    for _ in range(warmup):
        run()
    synchronize()
    seconds = []
    for _ in range(repeats):
        synchronize()
        start = time.perf_counter()
        run()
        synchronize()
        seconds.append(time.perf_counter() - start)
        if PROGRESS is not None:
            PROGRESS()
    return seconds


#: Called after every timed run where set (``bpnn bench``'s bar of the workload).
PROGRESS = None


def summary(seconds, per=1):
    """``{"median": s, "min": s, "runs": n}``, each per ``per`` units of work."""
    return {"median": statistics.median(seconds) / per, "min": min(seconds) / per,
            "runs": len(seconds)}


def paired(run, reference, synchronize=lambda: None, repeats=5, warmup=1):
    """``(seconds, reference_seconds)``: ``run()`` and ``reference()`` timed in turn,
    ``repeats`` times each after ``warmup`` untimed runs of ``run``.

    On a shared machine the speed drifts from second to second; a ratio of two
    runs timed side by side (:func:`ratios`) sees the same drift in both.
    """
    for _ in range(warmup):
        run()
    seconds, reference_seconds = [], []
    for _ in range(repeats):
        seconds.extend(timed(run, synchronize, repeats=1, warmup=0))
        reference_seconds.extend(timed(reference, synchronize, repeats=1, warmup=0))
    return seconds, reference_seconds


def ratios(seconds, reference_seconds):
    """The median over pairs of ``reference / seconds``: how close each run came to its
    reference timed beside it (1.0: as fast)."""
    return statistics.median(r / s for s, r in zip(seconds, reference_seconds))
