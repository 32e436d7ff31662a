"""Layers (Dense, RBF, Activation) and the weight initializers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bpnn.activations import get_activation
from bpnn.backends import get_backend
from bpnn.initializers import (
    INITIALIZERS,
    GlorotUniform,
    HeUniform,
    Normal,
    default_initializer,
    fans_of,
    get_initializer,
)
from bpnn.layers import RBF, Activation, Dense
from helpers import assert_gradient, assert_on_backend, host_random


def _dev(backend, host, dtype="float64"):
    return backend.asarray(np.asarray(host, dtype=np.float64), dtype=backend.dtype(dtype))


def _build(backend, layer, next_activation=None, seed=0, dtype="float64"):
    layer.build(backend.random(seed), backend.dtype(dtype), next_activation=next_activation)
    return layer


def _output_sum(backend, layer, X, R):
    return float(backend.xp.sum(layer.forward(backend.xp, X)[0] * R))


def assert_layer_gradients(backend, layer, X, R):
    """``backprop(R)`` gives ``dX`` and one grad per parameter, all matching central differences."""
    xp = backend.xp
    Y, backprop = layer.forward(xp, X)
    assert Y.shape == R.shape
    dX, grads = backprop(R)
    assert_on_backend(backend, dX, "float64")
    assert dX.shape == X.shape
    assert_gradient(backend, dX, lambda A: _output_sum(backend, layer, A, R), X)
    assert len(grads) == len(layer.params) == len(layer.param_names)
    for i, (P, G) in enumerate(zip(list(layer.params), grads)):
        assert_on_backend(backend, G, "float64")
        assert G.shape == P.shape

        def f(Q, i=i):
            saved = layer.params[i]
            layer.params[i] = Q
            try:
                return _output_sum(backend, layer, X, R)
            finally:
                layer.params[i] = saved

        assert_gradient(backend, G, f, P)


def _layer_cases():
    return [
        pytest.param(lambda: Dense(3, 2), get_activation("sigmoid"), 3, 2, id="dense"),
        pytest.param(lambda: Dense(4, 5, init="normal"), None, 4, 5, id="dense-normal"),
        pytest.param(lambda: RBF(3, 4), None, 3, 4, id="rbf"),
        pytest.param(lambda: RBF(2, 3, centre_range=2.0, width=0.7), None, 2, 3, id="rbf-narrow"),
    ]


# -- gradients -----------------------------------------------------------------------

@pytest.mark.parametrize("make, next_activation, n_in, n_out", _layer_cases())
def test_layer_gradients(backend, make, next_activation, n_in, n_out):
    """Dense and RBF: ``dX`` and every parameter gradient match central differences."""
    layer = _build(backend, make(), next_activation)
    X = _dev(backend, host_random(1, (5, n_in), -1.0, 1.0))
    R = _dev(backend, host_random(2, (5, n_out)))
    assert_layer_gradients(backend, layer, X, R)


def test_rbf_gradients_with_distinct_widths(backend):
    """RBF gradients hold with a different trained width per unit."""
    layer = _build(backend, RBF(2, 3))
    layer.params[1] = _dev(backend, [0.5, 1.0, 1.7])
    X = _dev(backend, host_random(3, (4, 2), -1.0, 1.0))
    R = _dev(backend, host_random(4, (4, 3)))
    assert_layer_gradients(backend, layer, X, R)


@pytest.mark.parametrize("name, params", [
    ("sigmoid", {}), ("tanh", {}), ("relu", {}), ("leaky_relu", {"alpha": 0.3}), ("softmax", {}),
    ("gaussian", {}),
])
def test_activation_layer_gradients(backend, name, params):
    """An Activation layer has no parameters and its ``dX`` matches central differences."""
    layer = Activation(name, **params)
    _build(backend, layer)
    assert layer.params == [] and layer.built
    host = host_random(5, (4, 3))
    X = _dev(backend, np.where(host >= 0, host + 0.05, host - 0.05))
    R = _dev(backend, host_random(6, (4, 3)))
    Y, backprop = layer.forward(backend.xp, X)
    expected = get_activation(name, **params).forward(backend.xp, X)
    np.testing.assert_array_equal(backend.to_numpy(Y), backend.to_numpy(expected))
    dX, grads = backprop(R)
    assert tuple(grads) == ()
    assert_gradient(backend, dX, lambda A: _output_sum(backend, layer, A, R), X)


def test_activation_layer_config():
    """The layer carries its activation's name and hyper-parameters."""
    layer = Activation("elu", alpha=0.5)
    assert layer.name == "elu"
    assert layer.config() == {"activation": "elu", "alpha": 0.5}
    with pytest.raises(ValueError):
        Activation("nope")
    with pytest.raises(ValueError):
        Activation("relu", alpha=1.0)


@pytest.mark.parametrize("make, next_activation, n_in, n_out", _layer_cases())
def test_need_dX_false(backend, make, next_activation, n_in, n_out):
    """``backprop(R, need_dX=False)`` gives ``dX = None`` and the same gradients."""
    layer = _build(backend, make(), next_activation)
    X = _dev(backend, host_random(7, (3, n_in), -1.0, 1.0))
    R = _dev(backend, host_random(8, (3, n_out)))
    _, backprop = layer.forward(backend.xp, X)
    dX_full, grads_full = backprop(R)
    dX, grads = backprop(R, need_dX=False)
    assert dX is None and dX_full is not None
    assert len(grads) == len(grads_full) == len(layer.params)
    for G, G_full in zip(grads, grads_full):
        np.testing.assert_array_equal(backend.to_numpy(G), backend.to_numpy(G_full))


# -- Dense --------------------------------------------------------------------------

def test_dense_known_values(backend):
    """``Y = X W + b`` with hand-set weights; ``dW = X^T dY``, ``db = colsum dY``, ``dX = dY W^T``.
    """
    layer = _build(backend, Dense(2, 3))
    layer.params = [_dev(backend, [[1.0, 0.0, -1.0], [2.0, 1.0, 0.0]]),
                    _dev(backend, [0.5, -1.0, 2.0])]
    X = _dev(backend, [[1.0, 2.0], [3.0, 4.0]])
    Y, backprop = layer.forward(backend.xp, X)
    np.testing.assert_allclose(backend.to_numpy(Y), [[5.5, 1.0, 1.0], [11.5, 3.0, -1.0]])
    dX, (dW, db) = backprop(_dev(backend, [[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]]))
    np.testing.assert_allclose(backend.to_numpy(dW), [[1.0, 3.0, 3.0], [2.0, 4.0, 4.0]])
    np.testing.assert_allclose(backend.to_numpy(db), [1.0, 1.0, 1.0])
    np.testing.assert_allclose(backend.to_numpy(dX), [[1.0, 2.0], [-1.0, 1.0]])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dense_shapes_and_dtype(backend, dtype):
    """``W`` is ``(n_in, n_out)``, ``b`` is ``(n_out,)``, in the build dtype on the backend."""
    layer = _build(backend, Dense(3, 5), dtype=dtype)
    assert layer.built and layer.param_names == ("W", "b") and layer.penalized == ("W",)
    assert layer.W.shape == (3, 5) and layer.b.shape == (5,)
    assert layer.W is layer.params[0] and layer.b is layer.params[1]
    assert_on_backend(backend, layer.W, dtype)
    assert_on_backend(backend, layer.b, dtype)
    Y, _ = layer.forward(backend.xp, _dev(backend, host_random(9, (4, 3)), dtype))
    assert Y.shape == (4, 5)
    assert_on_backend(backend, Y, dtype)
    assert layer.output_width(3) == 5


def test_dense_not_built_until_build():
    """A fresh layer has no parameters."""
    layer = Dense(2, 2)
    assert not layer.built and layer.params == []
    assert layer.config() == {"n_in": 2, "n_out": 2}


@pytest.mark.parametrize("n_in, n_out", [
    (0, 3), (3, 0), (-1, 3), (3, -2), (2.5, 3), (3, 0.5), (True, 3), (3, "4"), (float("nan"), 3),
    (float("inf"), 3), (None, 3),
])
def test_dense_rejects_bad_sizes(n_in, n_out):
    """Sizes must be positive integers."""
    with pytest.raises(ValueError):
        Dense(n_in, n_out)


def test_bad_size_message_names_the_argument():
    """The error says which size is wrong and what it must be."""
    with pytest.raises(ValueError, match="n_in must be a positive integer, got 0"):
        Dense(0, 3)
    with pytest.raises(ValueError, match="n_centres must be a positive integer, got 2.5"):
        RBF(2, 2.5)
    with pytest.raises(ValueError, match="width must be positive"):
        RBF(2, 3, width=0.0)


def test_dense_accepts_integral_floats():
    """``3.0`` is the integer 3."""
    layer = Dense(3.0, np.int64(2))
    assert (layer.n_in, layer.n_out) == (3, 2)
    assert type(layer.n_in) is int and type(layer.n_out) is int


# -- RBF ----------------------------------------------------------------------------

def test_rbf_matches_direct_formula(backend):
    """``Y = exp(-||x - c||² / (2 sigma²))`` against a direct NumPy computation."""
    layer = _build(backend, RBF(3, 4, centre_range=1.5))
    sigma = np.array([0.4, 0.8, 1.0, 2.5])
    layer.params[1] = _dev(backend, sigma)
    C = backend.to_numpy(layer.C)
    X = host_random(10, (5, 3), -1.0, 1.0)
    Y, _ = layer.forward(backend.xp, _dev(backend, X))
    D2 = ((X[:, None, :] - C[None, :, :]) ** 2).sum(axis=2)
    np.testing.assert_allclose(backend.to_numpy(Y), np.exp(-D2 / (2 * sigma ** 2)),
                               rtol=1e-10, atol=1e-14)


def test_rbf_output_in_unit_interval_and_one_at_centre(backend):
    """Outputs lie in (0, 1]; an input on a centre gives 1 for that unit."""
    layer = _build(backend, RBF(2, 3))
    C = backend.to_numpy(layer.C)
    X = np.vstack([C[1], host_random(11, (4, 2), -1.0, 1.0)])
    Y = backend.to_numpy(layer.forward(backend.xp, _dev(backend, X))[0])
    assert np.all(Y > 0) and np.all(Y <= 1)
    assert Y[0, 1] == pytest.approx(1.0, abs=1e-12)


def test_rbf_build_shapes_and_trained_params(backend):
    """Centres ``(n_centres, n_in)`` in ``[-range, range)``, widths ``(n_centres,)`` at ``width``;
    both are trained parameters."""
    layer = _build(backend, RBF(3, 6, centre_range=0.5, width=1.5), seed=3)
    assert layer.param_names == ("C", "sigma") and layer.built
    assert layer.C.shape == (6, 3) and layer.sigma.shape == (6,)
    assert_on_backend(backend, layer.C, "float64")
    assert_on_backend(backend, layer.sigma, "float64")
    C = backend.to_numpy(layer.C)
    assert np.all(C >= -0.5) and np.all(C < 0.5) and np.unique(C).size == C.size
    np.testing.assert_array_equal(backend.to_numpy(layer.sigma), np.full(6, 1.5))
    assert layer.output_width(3) == 6
    X = _dev(backend, host_random(12, (3, 3), -1.0, 1.0))
    _, (dC, dsigma) = layer.forward(backend.xp, X)[1](_dev(backend, np.ones((3, 6))))
    assert np.any(backend.to_numpy(dC) != 0) and np.any(backend.to_numpy(dsigma) != 0)


@pytest.mark.parametrize("kwargs", [
    {"width": 0.0}, {"width": -1.0}, {"width": float("nan")}, {"n_centres": 0}, {"n_in": -2},
    {"n_in": 1.5},
])
def test_rbf_rejects_bad_arguments(kwargs):
    """Non-positive widths and bad sizes raise ValueError."""
    args = {"n_in": 2, "n_centres": 3, **kwargs}
    with pytest.raises(ValueError):
        RBF(**args)


# -- initializers --------------------------------------------------------------------

def _draw(init, rng, n_in, n_out, dtype):
    """``(W, b)`` of a dense layer: the weights from their shape and fans, then the biases."""
    fans = (n_in, n_out)
    W = init(rng, (n_in, n_out), dtype, fans)
    return W, init.bias(rng, (n_out,), dtype, fans)


@pytest.mark.parametrize(("shape", "fans"), [
    ((4, 3), (4, 3)), ((7,), (7, 7)), ((3, 3, 16, 8), (144, 72)), ((5, 2, 6), (10, 30)),
])
def test_fans_of(shape, fans):
    assert fans_of(shape) == fans


def test_he_normal_of_a_kernel_uses_its_fan_in(backend):
    """A convolution kernel (3, 3, 16, 32): ``Var W = 2 / (3 * 3 * 16)``."""
    W = get_initializer("he_normal")(backend.random(2), (3, 3, 16, 32), backend.dtype("float64"))
    assert_on_backend(backend, W, "float64")
    assert tuple(W.shape) == (3, 3, 16, 32)
    assert backend.to_numpy(W).std() == pytest.approx(math.sqrt(2.0 / 144), rel=0.05)


GLOROT = math.sqrt(3.0) * math.sqrt(2.0 / 9.0)  # sqrt(3) std, std² = 2 / (5 + 4)
FAN_SUM = math.sqrt(6.0 / 9.0)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(("name", "draw"), [
    ("glorot_uniform", lambda g: (g.uniform(-GLOROT, GLOROT, (5, 4)), None)),
    ("fan_sum_uniform", lambda g: (g.uniform(-FAN_SUM, FAN_SUM, (5, 4)),
                                   g.uniform(-FAN_SUM, FAN_SUM, (4,)))),
    ("normal", lambda g: (0.01 * g.standard_normal((5, 4)), 0.01 * g.standard_normal((4,)))),
])
def test_dense_draws_the_seed_numbers(backend, name, draw, dtype):
    """Dense(5, 4) with seed 7 draws W, then b, from PCG64(7) as it always did (so results
    such as the seed demo's loss do not change)."""
    layer = Dense(5, 4, init=name)
    layer.build(backend.random(7), backend.dtype(dtype))
    W, b = draw(np.random.Generator(np.random.PCG64(7)))
    np.testing.assert_array_equal(backend.to_numpy(layer.W), W.astype(dtype))
    np.testing.assert_array_equal(backend.to_numpy(layer.b),
                                  np.zeros(4, dtype) if b is None else b.astype(dtype))

def test_normal_initializer_std(backend):
    """``Normal(0.01)`` draws weights and biases of std about 0.01."""
    W, b = _draw(Normal(0.01), backend.random(0), 200, 300, backend.dtype("float64"))
    assert_on_backend(backend, W, "float64")
    assert_on_backend(backend, b, "float64")
    W, b = backend.to_numpy(W), backend.to_numpy(b)
    assert W.shape == (200, 300) and b.shape == (300,)
    assert W.std() == pytest.approx(0.01, rel=0.1)
    assert abs(W.mean()) < 0.001
    assert b.std() == pytest.approx(0.01, rel=0.2)
    assert np.all(b != 0)


@pytest.mark.parametrize("name, uniform, variance", [
    ("glorot_uniform", True, lambda n_in, n_out: 2.0 / (n_in + n_out)),
    ("xavier_uniform", True, lambda n_in, n_out: 2.0 / (n_in + n_out)),
    ("he_uniform", True, lambda n_in, n_out: 2.0 / n_in),
    ("glorot_normal", False, lambda n_in, n_out: 2.0 / (n_in + n_out)),
    ("xavier_normal", False, lambda n_in, n_out: 2.0 / (n_in + n_out)),
    ("he_normal", False, lambda n_in, n_out: 2.0 / n_in),
])
def test_variance_scaling_initializers(backend, name, uniform, variance):
    """Glorot and He: the right std, uniform bounds ``sqrt(3) std``, zero biases."""
    n_in, n_out = 200, 300
    W, b = _draw(get_initializer(name), backend.random(1), n_in, n_out,
                 backend.dtype("float64"))
    assert_on_backend(backend, W, "float64")
    assert_on_backend(backend, b, "float64")
    W, b = backend.to_numpy(W), backend.to_numpy(b)
    std = math.sqrt(variance(n_in, n_out))
    assert W.shape == (n_in, n_out)
    assert W.std() == pytest.approx(std, rel=0.05)
    assert abs(W.mean()) < 0.05 * std
    if uniform:
        limit = math.sqrt(3.0) * std
        assert np.abs(W).max() <= limit
        assert np.abs(W).max() > 0.99 * limit
    else:
        assert np.abs(W).max() > 3.0 * std  # tails a uniform draw would not have
    np.testing.assert_array_equal(b, np.zeros(n_out))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(INITIALIZERS))
def test_same_seed_same_weights_on_every_backend(backend, name, dtype):
    """One seed gives the NumPy backend's weights exactly, on every backend."""
    ref = get_backend("numpy")
    init = get_initializer(name)
    W, b = _draw(init, backend.random(42), 4, 3, backend.dtype(dtype))
    W_ref, b_ref = _draw(init, ref.random(42), 4, 3, ref.dtype(dtype))
    assert_on_backend(backend, W, dtype)
    np.testing.assert_array_equal(backend.to_numpy(W), ref.to_numpy(W_ref))
    np.testing.assert_array_equal(backend.to_numpy(b), ref.to_numpy(b_ref))
    W_other, _ = _draw(init, backend.random(43), 4, 3, backend.dtype(dtype))
    assert not np.array_equal(backend.to_numpy(W_other), backend.to_numpy(W))


@pytest.mark.parametrize("make", [lambda: Dense(4, 3), lambda: RBF(4, 3)], ids=["dense", "rbf"])
def test_layer_build_reproducible_across_backends(backend, make):
    """Building a layer with one seed gives the NumPy backend's parameters."""
    ref = get_backend("numpy")
    layer, layer_ref = make(), make()
    _build(backend, layer, get_activation("tanh"), seed=5)
    _build(ref, layer_ref, get_activation("tanh"), seed=5)
    for P, P_ref in zip(layer.params, layer_ref.params):
        np.testing.assert_array_equal(backend.to_numpy(P), ref.to_numpy(P_ref))


@pytest.mark.parametrize("name, expected", [
    ("relu", HeUniform), ("leaky_relu", HeUniform), ("elu", HeUniform),
    ("sigmoid", GlorotUniform), ("tanh", GlorotUniform), ("softmax", GlorotUniform),
    ("identity", GlorotUniform),
])
def test_default_initializer(name, expected):
    """He for ReLU-like activations, Glorot for the others."""
    assert type(default_initializer(get_activation(name))) is expected


def test_default_initializer_without_activation_is_glorot():
    """No following activation: Glorot."""
    assert type(default_initializer(None)) is GlorotUniform


@pytest.mark.parametrize("activation, limit", [
    ("relu", math.sqrt(6.0 / 200)), ("sigmoid", math.sqrt(6.0 / 500)),
])
def test_dense_build_uses_default_initializer(backend, activation, limit):
    """Dense picks its initializer from the next activation: He for relu, Glorot for sigmoid."""
    layer = _build(backend, Dense(200, 300), get_activation(activation))
    W = backend.to_numpy(layer.W)
    assert limit * 0.99 < np.abs(W).max() <= limit
    np.testing.assert_array_equal(backend.to_numpy(layer.b), np.zeros(300))


def test_dense_explicit_init_overrides_default(backend):
    """An explicit ``init`` wins over the activation's default."""
    layer = _build(backend, Dense(200, 300, init=Normal(0.01)), get_activation("relu"))
    assert backend.to_numpy(layer.W).std() == pytest.approx(0.01, rel=0.1)
    assert np.all(backend.to_numpy(layer.b) != 0)


def test_get_initializer_errors_and_params():
    """Unknown names and parameters raise ValueError; parameters are honoured."""
    with pytest.raises(ValueError, match="unknown initializer") as info:
        get_initializer("zeros_of_doom")
    for name in INITIALIZERS:
        assert name in str(info.value)
    with pytest.raises(ValueError):
        get_initializer("he_uniform", scale=2.0)
    with pytest.raises(ValueError):
        Dense(2, 3, init="zeros_of_doom")
    assert get_initializer("randn", scale=0.5).scale == 0.5
    assert get_initializer("normal").scale == 0.01
    init = HeUniform()
    assert get_initializer(init) is init
