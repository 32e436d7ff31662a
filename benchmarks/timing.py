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
    return seconds


def summary(seconds, per=1):
    """``{"median": s, "min": s, "runs": n}``, each per ``per`` units of work."""
    return {"median": statistics.median(seconds) / per, "min": min(seconds) / per,
            "runs": len(seconds)}
