"""The ``large`` workload: 1,000,000 x 256 samples, 3 hidden layers of 1024, batch 1024.

A GPU workload: on a CPU backend it runs a shortened epoch (``cpu_samples``
rows) and says so.
"""

from __future__ import annotations

import numpy as np

from .timing import summary, timed

SAMPLES = 1_000_000
CPU_SAMPLES = 20_000


def run(backends, repeats, samples=SAMPLES, cpu_samples=CPU_SAMPLES):
    import bpnn
    from bpnn.backends import get_backend

    rows = []
    for name in backends:
        backend = get_backend(name)
        n = samples if backend.free_memory() is not None else min(samples, cpu_samples)
        rng = np.random.default_rng(0)
        X = backend.asarray(rng.standard_normal((n, 256), dtype=np.float32))
        T = backend.asarray(np.eye(10, dtype=np.float32)[rng.integers(0, 10, n)])
        net = bpnn.mlp([256, 1024, 1024, 1024, 10], activation="relu", loss="cross_entropy",
                       backend=backend, dtype="float32", seed=0)
        optimizer = bpnn.SGD(lr=0.01)
        timing = summary(timed(lambda: net.fit(X, T, epochs=1, batch_size=1024,
                                               optimizer=optimizer), backend.synchronize,
                               repeats, warmup=1))
        rows.append({"workload": "large", "who": f"bpnn {name}", "samples": n,
                     "shortened": n < samples, "samples_per_s": n / timing["median"],
                     "best_samples_per_s": n / timing["min"], "runs": timing["runs"]})
    return rows
