"""The ``large`` workload: 1,000,000 x 256 samples, 3 hidden layers of 1024, batch 1024.

A GPU workload: on a CPU backend, and for a CPU peer, it runs a shortened epoch
(``cpu_samples`` rows) and says so.  Like ``mlp``, every timed epoch is paired
with an epoch of its backend's GEMM-only bound (:mod:`.gemm_bound`); the peers
are PyTorch eager on the CPU (``torch``) and on the GPU (``torch-cuda``).
"""

from __future__ import annotations

import numpy as np

from .gemm_bound import gemm_epoch
from .mlp import torch_epoch
from .timing import paired, ratios, summary

SAMPLES = 1_000_000
CPU_SAMPLES = 20_000
SIZES = (256, 1024, 1024, 1024, 10)
BATCH = 1024
#: The peers this workload runs, and the backend of each one's bound.
PEER_BOUNDS = {"torch": "numpy", "torch-cuda": "torch:cuda"}


def _data(n):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, SIZES[0]), dtype=np.float32)
    labels = rng.integers(0, SIZES[-1], n)
    return X, labels


def _rows_for(backend, samples, cpu_samples):
    return samples if backend.free_memory() is not None else min(samples, cpu_samples)


def run(backends, repeats, samples=SAMPLES, cpu_samples=CPU_SAMPLES, peers=()):
    """Result rows: samples/s of one epoch of bpnn on each backend and of each peer, with
    the fraction of the GEMM-only bound of the backend it runs on."""
    import bpnn
    from bpnn.backends import get_backend

    rows = []
    for name in backends:
        backend = get_backend(name)
        n = _rows_for(backend, samples, cpu_samples)
        X, labels = _data(n)
        Xd = backend.asarray(X)
        Td = backend.asarray(np.eye(SIZES[-1], dtype=np.float32)[labels])
        net = bpnn.mlp(list(SIZES), activation="relu", loss="cross_entropy", backend=backend,
                       dtype="float32", seed=0)
        optimizer = bpnn.SGD(lr=0.01)
        seconds, bound = paired(
            lambda: net.fit(Xd, Td, epochs=1, batch_size=BATCH, optimizer=optimizer),
            gemm_epoch(name, SIZES, n, BATCH, "float32"), backend.synchronize, repeats)
        rows.append(_row(f"bpnn {name}", n, samples, seconds, bound))
    for peer in [peer for peer in peers if peer in PEER_BOUNDS]:
        bound_backend = get_backend(PEER_BOUNDS[peer])
        n = _rows_for(bound_backend, samples, cpu_samples)
        X, labels = _data(n)
        device = "cuda" if peer == "torch-cuda" else "cpu"
        seconds, bound = paired(torch_epoch(X, labels, BATCH, device=device, sizes=SIZES),
                                gemm_epoch(bound_backend.spec, SIZES, n, BATCH, "float32"),
                                bound_backend.synchronize, repeats)
        rows.append(_row(peer, n, samples, seconds, bound))
    return rows


def _row(who, n, samples, seconds, bound):
    timing = summary(seconds)
    return {"workload": "large", "who": who, "samples": n, "shortened": n < samples,
            "epoch": "shortened" if n < samples else "whole",
            "samples_per_s": n / timing["median"], "best_samples_per_s": n / timing["min"],
            "runs": timing["runs"], "of_bound": ratios(seconds, bound)}
