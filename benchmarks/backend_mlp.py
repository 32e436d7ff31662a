"""Training throughput of one MLP on each backend, in one process.

The workload of the backend comparison: a 784-256-256-10 ReLU network with a
softmax cross-entropy output, plain SGD, on synthetic float32 data.  For each
backend it trains one warm-up epoch, then times ``--repeats`` epochs (the
device is synchronized before every clock read) and prints samples per second
(median and best) and the ratio to the first backend.

Usage::

    python benchmarks/backend_mlp.py --backends numpy,torch --samples 20000
    python benchmarks/backend_mlp.py --backends numpy,cupy --batch-sizes 128,1024
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import bpnn
from bpnn.backends import get_backend


def make_data(n_samples, n_features=784, n_classes=10, seed=0):
    """Synthetic classification data: Gaussian inputs, labels from a random linear map."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features)).astype(np.float32)
    labels = np.argmax(X @ rng.standard_normal((n_features, n_classes)), axis=1)
    return X, np.eye(n_classes, dtype=np.float32)[labels]


def time_backend(name, X, T, batch_size, repeats, dtype="float32"):
    """Seconds per epoch (one per repeat) after a warm-up epoch."""
    backend = get_backend(name)
    Xd, Td = backend.asarray(X, dtype=backend.dtype(dtype)), backend.asarray(T, dtype=backend.dtype(dtype))
    net = bpnn.mlp([X.shape[1], 256, 256, T.shape[1]], activation="relu", loss="cross_entropy",
                   backend=backend, dtype=dtype, seed=0)
    optimizer = bpnn.SGD(lr=0.01)
    net.fit(Xd, Td, epochs=1, batch_size=batch_size, optimizer=optimizer)
    seconds = []
    for _ in range(repeats):
        backend.synchronize()
        start = time.perf_counter()
        net.fit(Xd, Td, epochs=1, batch_size=batch_size, optimizer=optimizer)
        backend.synchronize()
        seconds.append(time.perf_counter() - start)
    return backend, seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="numpy", help="comma-separated backend names")
    parser.add_argument("--samples", type=int, default=60000)
    parser.add_argument("--batch-sizes", default="128,1024")
    parser.add_argument("--dtypes", default="float32")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)

    X, T = make_data(args.samples)
    print(f"MLP 784-256-256-10 relu/softmax, SGD, {args.samples} samples, "
          f"median and best of {args.repeats} epochs after one warm-up")
    print(f"{'backend':<18}{'dtype':<9}{'batch':>6}{'samples/s (median)':>20}"
          f"{'best':>12}{'vs first':>10}")
    for dtype in args.dtypes.split(","):
        for batch_size in (int(b) for b in args.batch_sizes.split(",")):
            first = None
            for name in args.backends.split(","):
                backend, seconds = time_backend(name, X, T, batch_size, args.repeats, dtype)
                median = args.samples / statistics.median(seconds)
                best = args.samples / min(seconds)
                first = first or median
                print(f"{name:<18}{dtype:<9}{batch_size:>6}{median:>20,.0f}{best:>12,.0f}"
                      f"{median / first:>10.2f}")
    for name in args.backends.split(","):
        print(f"  {name}: {get_backend(name).describe()}")


if __name__ == "__main__":
    main()
