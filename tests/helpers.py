"""Shared test tools: central-difference gradient checks and namespace/dtype assertions."""

from __future__ import annotations

import numpy as np

from bpnn.backends import get_backend


def assert_on_backend(backend, array, dtype_name):
    """``array`` belongs to ``backend``'s library and has dtype ``dtype_name``."""
    assert backend.owns(array), f"expected an array of {backend.name}, got {type(array)}"
    assert backend.dtype_name(array.dtype) == dtype_name, \
        f"expected dtype {dtype_name}, got {array.dtype}"


def numeric_gradient(backend, f, A, eps=1e-6):
    """Central differences ``(f(A + eps e_i) - f(A - eps e_i)) / 2 eps`` for each entry of ``A``.

    ``f`` maps a device array of ``A``'s shape and dtype to a Python float;
    ``A`` is perturbed on the host and moved back, so this works on every backend.
    """
    host = backend.to_numpy(A).astype(np.float64)
    grad = np.zeros_like(host)
    flat, gflat = host.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        saved = flat[i]
        flat[i] = saved + eps
        plus = f(backend.asarray(host, dtype=A.dtype))
        flat[i] = saved - eps
        minus = f(backend.asarray(host, dtype=A.dtype))
        flat[i] = saved
        gflat[i] = (plus - minus) / (2 * eps)
    return grad


def assert_gradient(backend, analytic, f, A, rtol=1e-6, atol=1e-8, eps=1e-6):
    """``analytic`` (a device array) equals the central-difference gradient of ``f`` at ``A``."""
    expected = numeric_gradient(backend, f, A, eps)
    np.testing.assert_allclose(backend.to_numpy(analytic), expected, rtol=rtol, atol=atol)


def host_random(seed, shape, low=-2.0, high=2.0):
    """Deterministic float64 host data."""
    return np.random.default_rng(seed).uniform(low, high, shape)


def numpy_backend():
    return get_backend("numpy")
