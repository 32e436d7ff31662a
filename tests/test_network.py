"""The network: gradients of the whole chain, agreement across backends, parameters, errors."""

from __future__ import annotations

import numpy as np
import pytest

import bpnn
from bpnn.update import assign
from bpnn import RBF, Activation, Dense, Network
from bpnn.backends import get_backend
from helpers import assert_gradient, assert_on_backend, host_random


def deep_network(loss="squared_error", output=None, **kwargs):
    """Three hidden layers of different kinds, then an output layer."""
    layers = [Dense(3, 4), Activation("tanh"),
              RBF(4, 5, centre_range=0.5),
              Dense(5, 4), Activation("softsign"),
              Dense(4, 2)]
    if output is not None:
        layers.append(Activation(output))
    return Network(layers, loss=loss, seed=1, **kwargs)


def targets(loss, n=6):
    rng = np.random.default_rng(5)
    if loss in ("cross_entropy",):
        return np.eye(2)[rng.integers(0, 2, n)]
    if loss == "binary_cross_entropy":
        return rng.integers(0, 2, (n, 2)).astype(float)
    return rng.normal(size=(n, 2))


# (loss, output activation): matched pairs take the Y - T shortcut, the others the generic path.
PAIRS = [("squared_error", None), ("mse", None), ("cross_entropy", "softmax"),
         ("binary_cross_entropy", "sigmoid"), ("squared_error", "sigmoid"),
         ("binary_cross_entropy", "softmax")]


def set_param(net, index, value):
    offset = 0
    for layer in net.layers:
        if index < offset + len(layer.params):
            layer.params[index - offset] = value
            return
        offset += len(layer.params)


@pytest.mark.parametrize("loss, output", PAIRS)
def test_three_hidden_layer_gradients_match_central_differences(backend, loss, output):
    net = deep_network(loss, output, backend=backend, dtype="float64")
    X, T = host_random(0, (6, 3), -1, 1), targets(loss)
    value, grads = net.backward(X, T)
    assert np.isfinite(value)
    originals = list(net.parameters)
    assert len(grads) == len(originals) == 8
    for index, (param, grad) in enumerate(zip(originals, grads)):
        assert_on_backend(backend, grad, "float64")
        assert tuple(grad.shape) == tuple(param.shape)

        def loss_at(P, index=index):
            set_param(net, index, P)
            return net.evaluate(X, T)

        assert_gradient(backend, grad, loss_at, param, rtol=1e-5, atol=1e-9)
        set_param(net, index, param)


def test_l2_penalty_gradient_and_value(backend):
    net = deep_network(backend=backend)
    X, T = host_random(1, (5, 3), -1, 1), targets("squared_error", 5)
    plain, _ = net.backward(X, T)
    value, grads = net.backward(X, T, l2=0.3)
    weights = [layer.W for layer in net.layers if isinstance(layer, Dense)]
    penalty = 0.15 * sum(float(np.sum(backend.to_numpy(W) ** 2)) for W in weights)
    assert value == pytest.approx(plain + penalty, rel=1e-12)
    assert net.evaluate(X, T, l2=0.3) == pytest.approx(value, rel=1e-12)
    for index, param in enumerate(list(net.parameters)):
        def loss_at(P, index=index):
            set_param(net, index, P)
            return net.evaluate(X, T, l2=0.3)

        assert_gradient(backend, grads[index], loss_at, param, rtol=1e-5, atol=1e-9)
        set_param(net, index, param)


def test_input_gradient_through_forward_train(backend):
    net = deep_network(backend=backend)
    X = backend.asarray(host_random(2, (4, 3), -1, 1), dtype=backend.dtype("float64"))
    R = host_random(3, (4, 2))
    Y, backprop = net.forward_train(X)
    dX, grads = backprop(backend.asarray(R, dtype=Y.dtype))
    assert len(grads) == len(net.parameters)
    xp = backend.xp
    assert_gradient(backend, dX, lambda A: float(xp.sum(net.forward(A) * backend.asarray(R))), X)


@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-10), ("float32", 1e-5)])
@pytest.mark.parametrize("loss, output", PAIRS[:4])
def test_forward_and_backward_agree_with_numpy(backend, dtype, rtol, loss, output):
    X, T = host_random(4, (7, 3), -1, 1), targets(loss, 7)
    results = []
    for b in (get_backend("numpy"), backend):
        net = deep_network(loss, output, backend=b, dtype=dtype)
        Y = net.forward(X)
        assert_on_backend(b, Y, dtype)
        value, grads = net.backward(X, T)
        results.append((b.to_numpy(Y), value, [b.to_numpy(g) for g in grads]))
    (Y0, v0, g0), (Y1, v1, g1) = results
    np.testing.assert_allclose(Y1, Y0, rtol=rtol, atol=rtol * 1e-2)
    assert v1 == pytest.approx(v0, rel=rtol)
    for a, b in zip(g1, g0):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * np.abs(b).max())


def test_same_seed_gives_identical_initial_weights_on_every_backend(backend):
    reference = bpnn.mlp([3, 8, 5, 2], activation=["relu", "tanh"], seed=11, backend="numpy")
    net = bpnn.mlp([3, 8, 5, 2], activation=["relu", "tanh"], seed=11, backend=backend)
    for a, b in zip(net.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(a, b)
    other = bpnn.mlp([3, 8, 5, 2], activation=["relu", "tanh"], seed=12, backend=backend)
    assert not np.array_equal(other.get_weights()[0], reference.get_weights()[0])


def test_two_runs_with_one_seed_are_identical(backend):
    X, T = host_random(6, (20, 3), -1, 1), targets("squared_error", 20)
    runs = []
    for _ in range(2):
        net = bpnn.mlp([3, 6, 2], activation="tanh", seed=3, backend=backend)
        history = net.fit(X, T, epochs=3, batch_size=4, optimizer=bpnn.SGD(lr=0.1, momentum=0.9))
        runs.append((history["loss"], net.get_weights()))
    assert runs[0][0] == runs[1][0]
    for a, b in zip(runs[0][1], runs[1][1]):
        np.testing.assert_array_equal(a, b)


# -- parameters -------------------------------------------------------------------
def test_parameter_access(backend):
    net = bpnn.mlp([2, 3, 1], seed=0, backend=backend)
    assert [tuple(p.shape) for p in net.parameters] == [(2, 3), (3,), (3, 1), (1,)]
    assert net.count_params() == 13
    assert net.layers[0].W is net.parameters[0]
    assert net.layers[0].b is net.parameters[1]
    weights = [w + 1.0 for w in net.get_weights()]
    net.set_weights(weights)
    for a, b in zip(net.get_weights(), weights):
        np.testing.assert_array_equal(a, b)
    assert net.layers[0].W is net.parameters[0]  # written in place: the same buffers
    with pytest.raises(ValueError, match="expected 4 arrays, got 3"):
        net.set_weights(weights[:3])
    with pytest.raises(ValueError, match=r"parameter 0 has shape \(2, 3\), got \(3, 2\)"):
        net.set_weights([weights[0].T] + weights[1:])


def test_set_weights_copies(backend):
    net = bpnn.mlp([2, 3, 1], seed=0, backend=backend)
    mine = [backend.asarray(w) for w in net.get_weights()]
    net.set_weights(mine)
    params = net.parameters
    params[0] = assign(backend.xp, params[0], 5.0 * backend.xp.ones_like(params[0]))
    net.adopt_parameters(params)
    assert np.all(backend.to_numpy(net.parameters[0]) == 5.0)
    assert not np.any(backend.to_numpy(mine[0]) == 5.0)


def test_repr_and_build_state():
    net = bpnn.mlp([2, 3, 1])
    assert not net.built and "backend" not in repr(net)
    net.build(backend="numpy")
    assert net.built and "backend='numpy'" in repr(net) and "Dense(n_in=2, n_out=3)" in repr(net)


# -- dtypes -----------------------------------------------------------------------
def test_float32_data_builds_a_float32_network(backend):
    X = backend.asarray(host_random(0, (4, 2)), dtype=backend.dtype("float32"))
    net = bpnn.mlp([2, 3, 1], seed=0, backend=backend)
    Y = net.forward(X)
    assert net.dtype_name == "float32"
    assert_on_backend(backend, Y, "float32")
    for param in net.parameters:
        assert_on_backend(backend, param, "float32")
    _, grads = net.backward(X, host_random(1, (4, 1)))
    for grad in grads:
        assert_on_backend(backend, grad, "float32")


def test_float64_is_the_default_and_inputs_are_cast_to_the_model_dtype(backend):
    net = bpnn.mlp([2, 3, 1], seed=0, backend=backend)
    Y = net.forward([[0.5, 0.25]])
    assert_on_backend(backend, Y, "float64")
    small = bpnn.mlp([2, 3, 1], seed=0, backend=backend, dtype="float32")
    assert_on_backend(backend, small.forward(np.ones((2, 2))), "float32")


def test_float32_history_and_predictions_stay_float32(backend):
    X = host_random(0, (16, 2)).astype(np.float32)
    T = X[:, :1] * 0.5
    net = bpnn.mlp([2, 4, 1], activation="relu", seed=0, backend=backend)
    net.fit(X, T, epochs=2, batch_size=8)
    assert net.dtype_name == "float32"
    assert_on_backend(backend, net.predict(X), "float32")


def test_network_follows_the_backend_of_its_data(backend, monkeypatch):
    monkeypatch.setenv("BPNN_BACKEND", "numpy")
    net = bpnn.mlp([2, 3, 1], seed=0)
    Y = net.forward(backend.asarray(np.ones((2, 2))))
    assert net.backend.name == backend.name
    assert backend.owns(Y)


# -- errors -----------------------------------------------------------------------
@pytest.mark.parametrize("X, message", [
    (np.ones(3), r"X must be 2-D .*got shape \(3,\).*reshape"),
    (np.ones((2, 2, 2)), r"X must be 2-D"),
    (np.ones((0, 2)), r"X is empty"),
    (np.ones((3, 4)), r"X has 4 columns but the network expects 2"),
    (np.array([[1.0, np.nan], [0.0, 0.0]]), r"NaN or infinity \(first at row 0, column 1\)"),
    (np.array([[1.0, 0.0], [0.0, -np.inf]]), r"NaN or infinity \(first at row 1, column 1\)"),
    (np.array([["a", "b"]]), r"X: expected real numbers"),
    (np.array([[1j, 2]]), r"X: expected real numbers"),
])
def test_bad_inputs_get_clear_errors(backend, X, message):
    net = bpnn.mlp([2, 3, 1], seed=0, backend=backend)
    with pytest.raises(ValueError, match=message):
        net.forward(X)


@pytest.mark.parametrize("T, message", [
    (np.ones(4), r"T has 4 samples but X has 3"),
    (np.ones((3, 2)), r"T has 2 columns but the network expects 1"),
    (np.array([1.0, np.nan, 0.0]), r"T contains NaN"),
])
def test_bad_targets_get_clear_errors(backend, T, message):
    net = bpnn.mlp([2, 3, 1], seed=0, backend=backend)
    with pytest.raises(ValueError, match=message):
        net.backward(np.ones((3, 2)), T)
    with pytest.raises(ValueError, match=message):
        net.fit(np.ones((3, 2)), T)


def test_class_labels_for_a_softmax_network_ask_for_one_hot_rows():
    net = bpnn.mlp([2, 3, 2], loss="cross_entropy", seed=0, backend="numpy")
    with pytest.raises(ValueError, match="T has 1 columns but the network expects 2: give one-hot"):
        net.fit(np.ones((3, 2)), np.array([0, 1, 1]))


def test_a_one_dimensional_target_is_one_column(backend):
    net = bpnn.mlp([2, 3, 1], seed=0, backend=backend)
    a, _ = net.backward(np.ones((3, 2)), np.arange(3.0))
    b, _ = net.backward(np.ones((3, 2)), np.arange(3.0).reshape(-1, 1))
    assert a == b


def test_construction_errors():
    with pytest.raises(ValueError, match="at least one layer"):
        Network([])
    with pytest.raises(TypeError, match="expected bpnn layers, got str"):
        Network(["dense"])
    with pytest.raises(ValueError, match="layer 2 .* takes 4 inputs but the layer below gives 3"):
        Network([Dense(2, 3), Activation("relu"), Dense(4, 1)])
    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        Network([Dense(2, 1)], loss="hinge")
    with pytest.raises(ValueError, match="dtype must be one of"):
        Network([Dense(2, 1)], dtype="float16")
    with pytest.raises(ValueError, match="no layer with a known input width"):
        Network([Activation("relu")])
    with pytest.raises(ValueError, match="unknown activation 'relux'"):
        bpnn.mlp([2, 3, 1], activation="relux")
    with pytest.raises(ValueError, match="2 activations given for 1 hidden layers"):
        bpnn.mlp([2, 3, 1], activation=["relu", "tanh"])
    with pytest.raises(ValueError, match="input and an output size"):
        bpnn.mlp([2])


def test_mlp_builds_the_seed_structure():
    net = bpnn.mlp([1, 3, 1])
    assert [type(layer).__name__ for layer in net.layers] == ["Dense", "Activation", "Dense"]
    assert net.layers[1].name == "sigmoid"
    clf = bpnn.mlp([2, 6, 2], loss="cross_entropy")
    assert clf.layers[-1].name == "softmax"
    rbf = bpnn.mlp([2, 10, 1], activation="rbf")
    assert isinstance(rbf.layers[0], RBF) and isinstance(rbf.layers[1], Dense)
    deep = bpnn.mlp([4, 8, 8, 8, 3], activation=["relu", "gelu", "leaky_relu"],
                    loss="binary_cross_entropy")
    assert [layer.name for layer in deep.layers if isinstance(layer, Activation)] == \
        ["relu", "gelu", "leaky_relu", "sigmoid"]
