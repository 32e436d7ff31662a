"""The one route of every update (issue 18): in place where the library's arrays are
writable, new arrays where they are immutable (JAX), with the same results either way."""

from __future__ import annotations

import numpy as np
import pytest

import bpnn
from bpnn.flat import read_flat, write_flat
from bpnn.update import assign, subtract, writable
from helpers import host_random


def test_assign_writes_in_place_or_returns_the_value(backend, xp):
    target = backend.asarray(np.zeros((2, 3)), dtype=xp.float64)
    value = backend.asarray(host_random(0, (2, 3)), dtype=xp.float64)
    result = assign(xp, target, value)
    np.testing.assert_array_equal(backend.to_numpy(result), backend.to_numpy(value))
    if writable(xp):
        assert result is target
    else:  # the old array keeps its contents: nothing can change an immutable array
        assert result is value
        np.testing.assert_array_equal(backend.to_numpy(target), np.zeros((2, 3)))


def test_subtract_updates_every_parameter_in_place_or_anew(backend, xp):
    shapes = ((3, 2), (2,), (1, 4))
    params = [backend.asarray(host_random(seed, shape), dtype=xp.float64)
              for seed, shape in enumerate(shapes)]
    grads = [backend.asarray(host_random(10 + seed, shape), dtype=xp.float64)
             for seed, shape in enumerate(shapes)]
    before = [backend.to_numpy(W).copy() for W in params]
    live = list(params)
    subtract(xp, live, grads)
    for got, W, dW in zip(live, before, grads):
        np.testing.assert_array_equal(backend.to_numpy(got), W - backend.to_numpy(dW))
    if writable(xp):  # the same arrays, written in place
        assert all(a is b for a, b in zip(live, params))
    else:  # new arrays in the list; the old ones unchanged
        assert all(a is not b for a, b in zip(live, params))
        np.testing.assert_array_equal(backend.to_numpy(params[0]), before[0])


def test_only_jax_refuses_in_place_writes(backend, xp):
    assert writable(xp) is (backend.name != "jax")


def test_flat_round_trip(backend, xp):
    arrays = [backend.asarray(host_random(seed, shape), dtype=xp.float64)
              for seed, shape in ((1, (3, 2)), (2, (2,)), (3, (1, 4)))]
    flat = xp.zeros((13,), dtype=xp.float64)
    flat, end = write_flat(xp, arrays, flat)
    assert end == 12
    expected = np.concatenate([backend.to_numpy(a).reshape(-1) for a in arrays] + [[0.0]])
    np.testing.assert_array_equal(backend.to_numpy(flat), expected)
    back = [xp.zeros_like(a) for a in arrays]
    assert read_flat(xp, flat * 2.0, back) == 12
    for got, array in zip(back, arrays):
        np.testing.assert_array_equal(backend.to_numpy(got), 2.0 * backend.to_numpy(array))


def _seed_run(backend_name, optimizer, **options):
    X = np.linspace(-1.0, 1.0, 24).reshape(-1, 1)
    net = bpnn.mlp([1, 4, 1], activation="tanh", backend=backend_name, dtype="float64", seed=3)
    history = net.fit(X, np.sin(3 * X), epochs=4, batch_size=5, optimizer=optimizer, **options)
    return history["loss"], net.get_weights()


@pytest.mark.parametrize("optimizer", [lambda: bpnn.SGD(lr=0.3),
                                       lambda: bpnn.SGD(lr=0.1, momentum=0.9, nesterov=True),
                                       lambda: bpnn.Adam(lr=0.05),
                                       lambda: bpnn.RMSprop(lr=0.01, momentum=0.5,
                                                            centered=True)],
                         ids=["sgd", "nesterov", "adam", "rmsprop"])
def test_every_backend_trains_the_numpy_run(backend, optimizer):
    """The same run, to rounding, whether updates are in place or make new arrays (and,
    on JAX, whether the step is compiled)."""
    losses, weights = _seed_run(backend.name, optimizer(), l2=0.01)
    expected_losses, expected_weights = _seed_run("numpy", optimizer(), l2=0.01)
    np.testing.assert_allclose(losses, expected_losses, rtol=1e-12)
    for got, expected in zip(weights, expected_weights):
        np.testing.assert_allclose(got, expected, rtol=1e-11, atol=1e-14)
