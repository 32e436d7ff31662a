"""Per-layer gradient norms: a hand-computed case, the backprop bound, the monitor."""

from __future__ import annotations

import math

import numpy as np
import pytest

import bpnn
from bpnn import Activation, Dense, GradientMonitor, Network, gradient_norms
from helpers import host_random

# A 2-2-1 network, sigmoid hidden layer, identity output, squared error, two samples.
X = [[1.0, 2.0], [-0.5, 0.3]]
T = [[1.0], [-1.0]]
W1 = [[0.1, -0.2], [0.3, 0.4]]
B1 = [0.05, -0.1]
W2 = [[0.5], [-0.7]]
B2 = [0.2]


def hand_computed():
    """The seed's backprop by hand, in plain Python floats.

    L = 1/n sum_samples 1/2 (y - t)²;  delta2 = (y - t) / n;
    delta1_j = delta2 W2_j h_j (1 - h_j);  dW2 = hᵀ delta2;  dW1 = xᵀ delta1.
    """
    n = len(X)
    dW1 = [[0.0, 0.0], [0.0, 0.0]]
    dW2 = [0.0, 0.0]
    db1 = [0.0, 0.0]
    db2 = 0.0
    delta1_sq = delta2_sq = loss = 0.0
    for x, (t,) in zip(X, T):
        z = [x[0] * W1[0][j] + x[1] * W1[1][j] + B1[j] for j in range(2)]
        h = [1.0 / (1.0 + math.exp(-zj)) for zj in z]
        y = h[0] * W2[0][0] + h[1] * W2[1][0] + B2[0]
        loss += 0.5 * (y - t) ** 2 / n
        delta2 = (y - t) / n
        delta1 = [delta2 * W2[j][0] * h[j] * (1.0 - h[j]) for j in range(2)]
        delta2_sq += delta2 ** 2
        delta1_sq += delta1[0] ** 2 + delta1[1] ** 2
        db2 += delta2
        for j in range(2):
            dW2[j] += h[j] * delta2
            db1[j] += delta1[j]
            for i in range(2):
                dW1[i][j] += x[i] * delta1[j]
    return {
        "error": [math.sqrt(delta1_sq), math.sqrt(delta2_sq)],
        "weight": [math.sqrt(sum(g * g for row in dW1 for g in row)),
                   math.sqrt(sum(g * g for g in dW2))],
        "bias": [math.sqrt(db1[0] ** 2 + db1[1] ** 2), abs(db2)],
        "loss": loss,
    }


def two_layer(backend):
    net = Network([Dense(2, 2), Activation("sigmoid"), Dense(2, 1)], loss="squared_error",
                  backend=backend.name, dtype="float64", seed=0)
    net.set_weights([np.array(W1), np.array(B1), np.array(W2), np.array(B2)])
    return net


def test_gradient_norms_match_the_hand_computed_two_layer_case(backend):
    net = two_layer(backend)
    before = net.get_weights()
    norms = gradient_norms(net, X, T)
    expected = hand_computed()
    assert norms.layers == ["Dense(2, 2)", "Dense(2, 1)"]
    assert norms.activations == ["sigmoid", "identity"]
    assert norms.error == pytest.approx(expected["error"], rel=1e-12)
    assert norms.weight == pytest.approx(expected["weight"], rel=1e-12)
    assert norms.bias == pytest.approx(expected["bias"], rel=1e-12)
    assert norms.loss == pytest.approx(expected["loss"], rel=1e-12)
    assert norms.ratio[0] == pytest.approx(expected["error"][0] / expected["error"][1],
                                           rel=1e-12)
    assert norms.ratio[1] is None
    assert norms.bound == [0.25, 1.0]
    # ‖W2‖₂ of a column is its length
    assert norms.spectral[1] == pytest.approx(math.hypot(0.5, 0.7), rel=1e-12)
    for a, b in zip(before, net.get_weights()):  # a diagnosis changes nothing
        np.testing.assert_array_equal(a, b)


def test_weight_norms_agree_with_the_training_gradients(backend):
    net = bpnn.mlp([3, 6, 5, 2], activation=["tanh", "relu"], loss="cross_entropy",
                   backend=backend.name, seed=3)
    Xr = host_random(1, (20, 3))
    Tr = np.eye(2)[np.arange(20) % 2]
    norms = gradient_norms(net, Xr, Tr)
    loss, grads = net.backward(Xr, Tr)
    host = [backend.to_numpy(grad) for grad in grads]
    assert norms.weight == pytest.approx([np.linalg.norm(g) for g in host[0::2]], rel=1e-10)
    assert norms.bias == pytest.approx([np.linalg.norm(g) for g in host[1::2]], rel=1e-10)
    assert norms.loss == pytest.approx(loss, rel=1e-12)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "softsign", "gelu"])
def test_error_shrinks_no_more_than_the_bound_allows(backend, activation):
    """‖δ_l‖ <= max|f'| ‖W_{l+1}‖₂ ‖δ_{l+1}‖ in every layer, for any weights."""
    for seed in range(3):
        net = bpnn.mlp([4, 7, 7, 7, 3], activation=activation, loss="cross_entropy",
                       backend=backend.name, seed=seed)
        Xr = host_random(seed, (25, 4), -3, 3)
        Tr = np.eye(3)[np.arange(25) % 3]
        norms = gradient_norms(net, Xr, Tr)
        for ratio, bound in zip(norms.ratio[:-1], norms.ratio_bound[:-1]):
            assert 0.0 < ratio <= bound * (1 + 1e-9)


def test_deep_sigmoid_error_decays_like_the_seed_says():
    net = bpnn.mlp([2, *[16] * 8, 2], activation="sigmoid", loss="cross_entropy",
                   backend="numpy", seed=0)
    Xc, Tc = bpnn.datasets.sin_classification()
    norms = gradient_norms(net, Xc, Tc)
    hidden = norms.ratio[:-1]
    assert max(hidden) < 0.5 and np.median(hidden) < 0.3
    assert norms.error[0] < 1e-4 * norms.error[-1]


def test_table_lists_every_layer():
    net = bpnn.mlp([2, 3, 3, 1], activation="sigmoid", backend="numpy", seed=0)
    norms = gradient_norms(net, [[0.1, 0.2], [0.3, -0.1]], [[1.0], [0.0]])
    lines = str(norms).splitlines()
    assert len(lines) == 4 and "ratio to next" in lines[0]
    assert lines[1].split()[:4] == ["1", "Dense(2,", "3)", "sigmoid"]
    assert set(norms.to_dict()) >= {"error", "weight", "ratio", "bound", "ratio_bound"}


def test_rbf_layers_are_diagnosed_too():
    net = bpnn.mlp([1, 5, 1], activation="rbf", backend="numpy", seed=0)
    norms = gradient_norms(net, [[0.1], [0.5], [-0.4]], [0.2, 0.1, 0.0])
    assert norms.layers == ["RBF(1, 5)", "Dense(5, 1)"] and norms.bound[0] is None
    assert all(value > 0 for value in norms.error + norms.weight)


def test_bad_data_is_a_clear_error():
    net = bpnn.mlp([2, 3, 1], backend="numpy", seed=0)
    with pytest.raises(ValueError, match="X has 3 columns but the network expects 2"):
        gradient_norms(net, [[1.0, 2.0, 3.0]], [[1.0]])


def test_monitor_records_before_training_and_every_n_epochs(backend):
    Xc, Tc = bpnn.datasets.sin_classification()
    net = bpnn.mlp([2, 6, 6, 2], activation="sigmoid", loss="cross_entropy",
                   backend=backend.name, seed=0)
    monitor = GradientMonitor(Xc[:50], Tc[:50], every=2)
    net.fit(Xc, Tc, epochs=6, callbacks=[monitor])
    assert monitor.epochs == [-1, 1, 3, 5]
    assert len(monitor.error()) == 4 and all(len(row) == 3 for row in monitor.error())
    # the first record is the untrained network, the last the trained one
    assert monitor.records[-1].error == pytest.approx(
        gradient_norms(net, Xc[:50], Tc[:50]).error, rel=1e-12)
    assert monitor.records[0].error != monitor.records[-1].error
