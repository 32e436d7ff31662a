"""Data-parallel scaling: the ``mlp`` workload on 1 and more MPI ranks of one machine.

Run it once per rank count::

    mpiexec -n 1 python -m bpnn.benchmarks.distributed
    mpiexec -n 2 python -m bpnn.benchmarks.distributed

Each run trains 784-256-256-10 (ReLU, softmax cross-entropy, SGD) on the
``mlp`` workload's 60,000 synthetic float32 samples for one timed epoch after
a warm-up, with the machine's cores split among the ranks (BLAS threads =
cores / ranks), and prints, on rank 0, the samples per second and the time
per step spent in (or waiting at) the gradient ``Allreduce``.  Two global
batches: 256 (128 per rank on 2 ranks: the same run as 1 rank with 256) and
the same local batch 128 on every rank count.
"""

from __future__ import annotations

import os
import time

from threadpoolctl import threadpool_limits

from .mlp import SIZES, make_data


def run(global_batch, samples, dist):
    import bpnn

    X, T, _ = make_data(samples, "float32")
    local = max(global_batch // dist.size, 1)
    network = bpnn.mlp(SIZES, activation="relu", loss="cross_entropy", seed=0,
                       backend="numpy", dtype="float32")
    network.fit(X[:4096], T[:4096], epochs=1, batch_size=local, optimizer=bpnn.SGD(lr=0.01),
                distributed=dist)  # warm-up
    dist.allreduce_seconds, dist.allreduce_calls = 0.0, 0
    dist.comm.Barrier()
    start = time.perf_counter()
    network.fit(X, T, epochs=1, batch_size=local, optimizer=bpnn.SGD(lr=0.01), distributed=dist)
    dist.comm.Barrier()
    seconds = time.perf_counter() - start
    steps = dist.allreduce_calls
    comm = dist.comm.allreduce(dist.allreduce_seconds) / dist.size  # mean over the ranks
    return {"ranks": dist.size, "global_batch": local * dist.size, "local_batch": local,
            "samples_per_s": samples / seconds, "ms_per_step": 1e3 * seconds / steps,
            "allreduce_ms_per_step": 1e3 * comm / steps, "allreduce_share": comm / seconds}


def main(samples=60000):
    from bpnn.distributed import Distributed

    dist = Distributed.world()
    threads = max((os.cpu_count() or 1) // dist.size, 1)
    rows = []
    with threadpool_limits(threads):
        for global_batch in (256, 128 * dist.size):
            rows.append(run(global_batch, samples, dist))
    if dist.rank == 0:
        print(f"{dist.size} rank(s), {threads} BLAS thread(s) each, {samples} samples")
        print(f"{'global batch':>13}{'local':>7}{'samples/s':>12}{'ms/step':>9}"
              f"{'allreduce ms/step':>19}{'share':>7}")
        for row in rows:
            print(f"{row['global_batch']:>13}{row['local_batch']:>7}{row['samples_per_s']:>12,.0f}"
                  f"{row['ms_per_step']:>9.2f}{row['allreduce_ms_per_step']:>19.3f}"
                  f"{row['allreduce_share']:>7.1%}")
    return rows


if __name__ == "__main__":
    main()
