"""Peak memory of training one epoch from a float32 ``.npy`` file larger than you would load.

Writes a file of ``--gib`` GiB (rows of 256 float32 features and a target
column in a second file), then trains one epoch of a 256-64-1 network on it
in a fresh process, reading X through a NumPy memory map, and prints the
process's peak resident memory before and after, and the time.

Usage::

    python benchmarks/stream_memory.py               # 2 GiB, numpy backend
    python benchmarks/stream_memory.py --gib 0.25 --backend torch
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

FEATURES = 256
CHILD = r"""
import resource, sys, time
import numpy as np
import bpnn

def peak_kib():
    # VmHWM: this process's own peak (ru_maxrss would include the parent's, from before exec)
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

x_path, y_path, backend, batch = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
X = np.load(x_path, mmap_mode="r")
net = bpnn.mlp([X.shape[1], 64, 1], activation="relu", backend=backend, seed=0)
before = peak_kib()
start = time.perf_counter()
history = net.fit(X, y_path, epochs=1, batch_size=batch, optimizer="adam")
seconds = time.perf_counter() - start
after = peak_kib()
print(before, after, seconds, history["loss"][0])
"""


def write_data(folder, gib, chunk_rows=65536):
    """X.npy (n x 256 float32, about ``gib`` GiB) and y.npy, written chunk by chunk."""
    n = int(gib * 2 ** 30) // (FEATURES * 4)
    rng = np.random.default_rng(0)
    x_path, y_path = os.path.join(folder, "X.npy"), os.path.join(folder, "y.npy")
    X = np.lib.format.open_memmap(x_path, mode="w+", dtype=np.float32, shape=(n, FEATURES))
    y = np.lib.format.open_memmap(y_path, mode="w+", dtype=np.float32, shape=(n, 1))
    w = rng.normal(size=(FEATURES, 1)).astype(np.float32) / 16
    for start in range(0, n, chunk_rows):
        stop = min(start + chunk_rows, n)
        block = rng.normal(size=(stop - start, FEATURES)).astype(np.float32)
        X[start:stop] = block
        y[start:stop] = np.tanh(block @ w)
    X.flush()
    y.flush()
    del X, y
    return x_path, y_path, n


def measure(x_path, y_path, backend="numpy", batch=1024):
    """``(peak RSS growth in MiB, peak RSS in MiB, seconds)`` of one epoch in a child process."""
    done = subprocess.run([sys.executable, "-c", CHILD, x_path, y_path, backend, str(batch)],
                          capture_output=True, text=True, check=True)
    before, after, seconds, _ = done.stdout.split()
    return (int(after) - int(before)) / 1024, int(after) / 1024, float(seconds)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gib", type=float, default=2.0)
    parser.add_argument("--backend", default="numpy")
    parser.add_argument("--batch-size", type=int, default=1024)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        x_path, y_path, n = write_data(folder, args.gib)
        growth, peak, seconds = measure(x_path, y_path, args.backend, args.batch_size)
    print(f"{args.gib:g} GiB float32 ({n} rows x {FEATURES}), one epoch, batch "
          f"{args.batch_size}, {args.backend}: peak RSS {peak:.0f} MiB (growth during fit "
          f"{growth:.0f} MiB), {seconds:.1f} s ({n / seconds:,.0f} rows/s)")


if __name__ == "__main__":
    main()
