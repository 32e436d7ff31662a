"""Numerics at the edges of training: a mini-batch whose sample weights are all zero adds
nothing (no NaN blamed on the learning rate), weights the fit cannot use are refused up
front, and L-BFGS from a non-finite loss raises bpnn's divergence error."""

from __future__ import annotations

import numpy as np
import pytest

import bpnn
from bpnn import SGD, DivergenceError
from bpnn.lbfgs import lbfgs
from helpers import host_random

X = host_random(0, (16, 2), -1, 1)
T = np.sin(X[:, :1] * 2)
W = np.ones(16)
W[:4] = 0.0  # with batch_size=4 and no shuffle, the first batch weighs nothing


def net_on(backend):
    return bpnn.mlp([2, 4, 1], activation="tanh", backend=backend.name, dtype="float64",
                    seed=1)


def weights_of(backend, net):
    """The weights as host arrays (``get_weights`` copies them to the host)."""
    return [np.asarray(array) for array in net.get_weights()]


@pytest.mark.parametrize("l2", [0.0, 0.01])
def test_a_zero_weight_batch_makes_no_update(backend, l2):
    # plain SGD: a batch with no loss and no gradient leaves the weights where they were,
    # so the run equals one without those rows
    net, reference = net_on(backend), net_on(backend)
    options = {"epochs": 3, "batch_size": 4, "shuffle": False, "l2": l2, "l2_shared": True}
    history = net.fit(X, T, sample_weight=W, optimizer=SGD(lr=0.1), **options)
    reference.fit(X[4:], T[4:], sample_weight=W[4:], optimizer=SGD(lr=0.1), **options)
    assert np.all(np.isfinite(history["loss"]))
    for got, expected in zip(weights_of(backend, net), weights_of(backend, reference)):
        assert np.all(np.isfinite(got))
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)


def test_zero_weight_batches_with_adam_stay_finite(backend):
    w = np.zeros(16)
    w[-1] = 1.0  # every batch but the last weighs nothing
    net = net_on(backend)
    net.fit(X, T, sample_weight=w, epochs=5, batch_size=2, optimizer="adam", l2=0.01,
            l2_shared=True)
    assert all(np.all(np.isfinite(array)) for array in weights_of(backend, net))


def test_the_loss_of_a_zero_weight_batch_is_zero(backend):
    net = net_on(backend).build()
    xp = backend.xp
    Xd, Td = backend.asarray(X[:4], dtype=xp.float64), backend.asarray(T[:4], dtype=xp.float64)
    w = backend.asarray(np.zeros((4, 1)), dtype=xp.float64)
    loss, grads = net.loss_and_gradients(xp, Xd, Td, w=w, l2=0.1, l2_shared=True)
    assert float(loss) == 0.0
    for grad in grads:
        assert grad.dtype == xp.float64
        assert not np.any(backend.to_numpy(grad))


@pytest.mark.parametrize("weights, message", [
    (np.zeros(16), "all zeros"),
    (np.r_[-1.0, np.ones(15)], "negative weights"),
    (np.r_[np.nan, np.ones(15)], "NaN or infinity"),
])
def test_unusable_sample_weights_are_refused_up_front(backend, weights, message):
    with pytest.raises(ValueError, match=f"sample_weight.*{message}|{message}"):
        net_on(backend).fit(X, T, sample_weight=weights, epochs=1, batch_size=4)


def test_the_estimator_refuses_all_zero_sample_weights(backend):
    model = bpnn.MLPRegressor(hidden_layer_sizes=(3,), backend=backend.name, max_iter=5)
    with pytest.raises(ValueError, match="(?i)sample.weight.*(all zeros|non-zero)"):
        model.fit(X, T[:, 0], sample_weight=np.zeros(16))


def test_lbfgs_from_a_non_finite_loss_raises_the_divergence_error(backend):
    net = net_on(backend).build()
    before = weights_of(backend, net)
    xp = backend.xp
    Xd = backend.asarray(X, dtype=xp.float64)
    Td = backend.asarray(np.full((16, 1), 1e300), dtype=xp.float64)  # (y - t)² overflows
    with backend.errstate(), pytest.raises(DivergenceError, match="L-BFGS cannot start.*"
                                           "the loss is inf.*Scale the data") as caught:
        lbfgs(net, Xd, Td, max_iter=5)
    assert isinstance(caught.value, FloatingPointError)  # what callers caught before
    for got, expected in zip(weights_of(backend, net), before):
        np.testing.assert_array_equal(got, expected)
