"""The GEMM-only bound of an MLP's training step: its matrix products and nothing else.

For layer widths ``sizes`` and a batch of ``b`` rows, one step of plain SGD
multiplies ``H_{l-1} W_l`` forward for every layer, and backward
``H_{l-1}^T D_l`` (the weights' gradient) for every layer and ``D_l W_l^T``
(the error passed down) for every layer but the first: ``3L - 1`` products for
``L`` layers.  Timed alone with a backend's matmul, they give the samples per
second the step would reach if nothing else cost time.
"""

from __future__ import annotations

import numpy as np


def gemm_epoch(backend_name, sizes, n_samples, batch_size, dtype):
    """One epoch of only the step's matrix products with the backend's matmul: a callable
    to time (on an asynchronous device, synchronize around it)."""
    from bpnn.backends import get_backend

    backend = get_backend(backend_name)
    rng = np.random.default_rng(1)

    def device(*shape):
        return backend.asarray(rng.standard_normal(shape), dtype=backend.dtype(dtype))

    b = min(batch_size, n_samples)
    H = [device(b, width) for width in sizes]           # each layer's input, and the output
    W = [device(n_in, n_out) for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    D = [device(b, width) for width in sizes[1:]]      # each layer's output delta
    steps = -(-n_samples // b)

    def epoch():
        with backend.device_current():  # CuPy multiplies on the current device: cupy:1's
            for _ in range(steps):
                for layer in range(len(W)):                            # forward
                    H[layer] @ W[layer]
                for layer in range(len(W) - 1, -1, -1):                # backward
                    H[layer].T @ D[layer]
                    if layer:
                        D[layer] @ W[layer].T

    return epoch
