"""The ``crossover`` workload: where a GPU starts to beat the CPU.

A two-hidden-layer ReLU MLP (256 inputs, hidden width ``w``, 10 outputs) trains
for a fixed number of SGD steps at batch size ``b`` on each backend; the sweep
over widths 16 ... 4096 and batch sizes 1 ... 4096 gives samples per second
for every pair, and, with a CPU and a GPU backend in the run, the smallest
batch size at which the GPU is faster for each width.
"""

from __future__ import annotations

import numpy as np

from .timing import summary, timed

WIDTHS = (16, 64, 256, 1024, 4096)
BATCHES = (1, 16, 128, 1024, 4096)
QUICK_WIDTHS = (16, 256, 1024)
QUICK_BATCHES = (1, 128, 1024)


def samples_per_second(backend_name, width, batch, steps, repeats):
    import bpnn
    from bpnn.backends import get_backend

    backend = get_backend(backend_name)
    rng = np.random.default_rng(0)
    X = backend.asarray(rng.standard_normal((batch * steps, 256)), dtype=backend.dtype("float32"))
    T = backend.asarray(np.eye(10)[rng.integers(0, 10, batch * steps)],
                        dtype=backend.dtype("float32"))
    net = bpnn.mlp([256, width, width, 10], activation="relu", loss="cross_entropy",
                   backend=backend, dtype="float32", seed=0)
    optimizer = bpnn.SGD(lr=0.01)
    seconds = timed(lambda: net.fit(X, T, epochs=1, batch_size=batch, shuffle=False,
                                    optimizer=optimizer), backend.synchronize, repeats)
    return batch * steps / summary(seconds)["median"]


def run(backends, repeats, quick=False, steps=20):
    widths, batches = (QUICK_WIDTHS, QUICK_BATCHES) if quick else (WIDTHS, BATCHES)
    rows = []
    for width in widths:
        for batch in batches:
            for name in backends:
                rows.append({"workload": "crossover", "who": f"bpnn {name}", "width": width,
                             "batch": batch, "samples_per_s": samples_per_second(
                                 name, width, batch, steps, repeats)})
    return rows


def crossover_points(rows, cpu, gpu):
    """For each width, the smallest batch size at which ``gpu`` beats ``cpu`` (None: never)."""
    speed = {(row["who"], row["width"], row["batch"]): row["samples_per_s"] for row in rows}
    points = {}
    for width in sorted({row["width"] for row in rows}):
        batches = sorted({row["batch"] for row in rows if row["width"] == width})
        points[width] = next((batch for batch in batches
                              if speed[(f"bpnn {gpu}", width, batch)] >
                              speed[(f"bpnn {cpu}", width, batch)]), None)
    return points
