"""Time bpnn's sin-regression demo against the seed's hand-written NumPy loop.

Both train the seed's 1-3-1 network on ``sin x`` by online SGD (63 samples,
one step per sample, ``epochs * 63`` steps) from the same seeded ``PCG64``
stream, so they do the same arithmetic and produce the same learning curve up
to float rounding.  The script runs them alternately in one process, ``R``
times each, and prints each run's seconds, the medians, the ratio of the
medians (bpnn / hand) and the microseconds per step.  Timings on a shared
machine are noisy; the ratio of medians taken in one process is the figure to
compare.

Usage::

    python benchmarks/compare_seed_sin.py               # 5 repeats, 2001 epochs
    python benchmarks/compare_seed_sin.py --repeats 3 --epochs 201
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import seed_sin_hand  # noqa: E402  (the sibling script, importable from any working directory)
from bpnn import __version__ as bpnn_version  # noqa: E402
from bpnn.demos import sin_regression  # noqa: E402

#: Samples in the seed's data set: one optimizer step each per epoch.
N_SAMPLES = 63


def _timed(call):
    """``(seconds, result)`` of ``call()``, timed whole from outside."""
    start = time.perf_counter()
    result = call()
    return time.perf_counter() - start, result


def run_bpnn(epochs, seed):
    """One silent run of bpnn's demo on the NumPy backend (building the network included).

    Returns
    -------
    seconds : float
    curve : list of float
        The mean error of every epoch.
    """
    seconds, result = _timed(lambda: sin_regression(backend="numpy", seed=seed, epochs=epochs,
                                                    write=None))
    return seconds, list(result.history["loss"])


def run_hand(epochs, seed):
    """One silent run of the hand-written loop of :mod:`seed_sin_hand`.

    Returns
    -------
    seconds : float
    curve : list of float
        The mean error of every epoch.
    """
    curve = []
    seconds, _ = _timed(lambda: seed_sin_hand.train(epochs=epochs, seed=seed, write=None,
                                                     curve=curve))
    return seconds, curve


def main(argv=None):
    """Parse the options, run both loops alternately and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs of each (default 5)")
    parser.add_argument("--epochs", type=int, default=2001, help="epochs per run (default 2001)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.epochs < 1:
        parser.error("--repeats and --epochs must be at least 1")
    steps = args.epochs * N_SAMPLES

    print(f"Python {platform.python_version()}, NumPy {np.__version__}, bpnn {bpnn_version}; "
          f"{os.cpu_count()} CPUs")
    print(f"{args.repeats} repeats of each, {args.epochs} epochs x {N_SAMPLES} samples = "
          f"{steps} steps per run, seed {args.seed}")
    # One short run of each first, so that neither pays for first-call costs.
    run_bpnn(2, args.seed)
    run_hand(2, args.seed)

    bpnn_times, hand_times = [], []
    max_rel = 0.0
    print(f"\n{'run':>3}  {'bpnn s':>8}  {'hand s':>8}  {'bpnn/hand':>9}")
    for r in range(args.repeats):
        t_bpnn, curve_bpnn = run_bpnn(args.epochs, args.seed)
        t_hand, curve_hand = run_hand(args.epochs, args.seed)
        bpnn_times.append(t_bpnn)
        hand_times.append(t_hand)
        max_rel = max(max_rel, seed_sin_hand.compare_curves(curve_hand, curve_bpnn)[1])
        print(f"{r + 1:>3}  {t_bpnn:8.3f}  {t_hand:8.3f}  {t_bpnn / t_hand:9.2f}", flush=True)

    med_bpnn = statistics.median(bpnn_times)
    med_hand = statistics.median(hand_times)
    print(f"\nmedian  bpnn {med_bpnn:.3f} s ({med_bpnn / steps * 1e6:.1f} us/step)   "
          f"hand {med_hand:.3f} s ({med_hand / steps * 1e6:.1f} us/step)")
    print(f"ratio of medians bpnn/hand: {med_bpnn / med_hand:.2f}")
    print(f"final mean error: bpnn {curve_bpnn[-1]:.10g}, hand {curve_hand[-1]:.10g}; "
          f"largest relative difference of the per-epoch curves: {max_rel:.2g}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
