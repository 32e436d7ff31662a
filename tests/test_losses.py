"""Losses: gradients, the ``Y - T`` output delta, known values, stability and the registry."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bpnn.activations import get_activation
from bpnn.losses import (
    LOSSES,
    BinaryCrossEntropy,
    CrossEntropy,
    Loss,
    MeanSquaredError,
    SquaredError,
    get_loss,
)
from helpers import assert_gradient, assert_on_backend, host_random

NAMES = sorted(LOSSES)
N, K = 4, 3


def _dev(backend, host, dtype="float64"):
    return backend.asarray(np.asarray(host, dtype=np.float64), dtype=backend.dtype(dtype))


def _targets(name, seed=0, n=N, k=K):
    """Targets that suit the loss: one-hot rows, {0, 1} entries or any reals."""
    rng = np.random.default_rng(seed)
    canonical = LOSSES[name].name
    if canonical == "cross_entropy":
        return np.eye(k)[rng.integers(0, k, n)]
    if canonical == "binary_cross_entropy":
        return rng.integers(0, 2, (n, k)).astype(np.float64)
    if canonical == "poisson":  # counts, zeros among them
        return rng.poisson(1.5, (n, k)).astype(np.float64)
    return rng.uniform(-2.0, 2.0, (n, k))


def _outputs(name, seed=1, n=N, k=K):
    """Outputs ``Y`` inside the loss's domain: (0, 1) for the cross-entropies."""
    if LOSSES[name].name in ("cross_entropy", "binary_cross_entropy"):
        return host_random(seed, (n, k), 0.1, 0.9)
    if LOSSES[name].name == "poisson":  # rates: positive
        return host_random(seed, (n, k), 0.2, 3.0)
    return host_random(seed, (n, k))


def _scale(loss, n, k):
    """The delta is ``scale * (link(Z) - T)``."""
    return 2.0 / (n * k) if loss.name == "mse" else 1.0 / n


# -- gradients --------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_gradient_matches_central_differences(backend, name):
    """``gradient(Y, T)`` is ``d value / dY``."""
    xp = backend.xp
    loss = get_loss(name)
    Y, T = _dev(backend, _outputs(name)), _dev(backend, _targets(name))
    analytic = loss.gradient(xp, Y, T)
    assert_on_backend(backend, analytic, "float64")
    assert analytic.shape == (N, K)
    assert_gradient(backend, analytic, lambda A: float(loss.value(xp, A, T)), Y)


@pytest.mark.parametrize("name", NAMES)
def test_value_and_delta_value_is_value_of_link(backend, name):
    """``value_and_delta(Z, T)[0] == value(link(Z), T)``."""
    xp = backend.xp
    loss = get_loss(name)
    link = get_activation(loss.link)
    Z, T = _dev(backend, host_random(2, (N, K))), _dev(backend, _targets(name))
    value, _ = loss.value_and_delta(xp, Z, T)
    expected = float(loss.value(xp, link.forward(xp, Z), T))
    assert float(value) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_delta_matches_central_differences(backend, name):
    """The delta is ``d value / dZ``, both of ``value_and_delta`` and of ``value(link(Z))``."""
    xp = backend.xp
    loss = get_loss(name)
    link = get_activation(loss.link)
    Z, T = _dev(backend, host_random(3, (N, K))), _dev(backend, _targets(name))
    _, delta = loss.value_and_delta(xp, Z, T)
    assert_on_backend(backend, delta, "float64")
    assert_gradient(backend, delta, lambda A: float(loss.value_and_delta(xp, A, T)[0]), Z)
    assert_gradient(backend, delta, lambda A: float(loss.value(xp, link.forward(xp, A), T)), Z)


@pytest.mark.parametrize("name", NAMES)
def test_delta_is_output_minus_target(backend, name):
    """The output delta is ``(link(Z) - T) / n`` (``2 / (n k)`` times that for mse)."""
    xp = backend.xp
    loss = get_loss(name)
    link = get_activation(loss.link)
    Z, T = _dev(backend, host_random(4, (N, K))), _dev(backend, _targets(name))
    _, delta = loss.value_and_delta(xp, Z, T)
    expected = _scale(loss, N, K) * (backend.to_numpy(link.forward(xp, Z)) - backend.to_numpy(T))
    np.testing.assert_allclose(backend.to_numpy(delta), expected, rtol=1e-12, atol=1e-15)


def test_cross_entropy_delta_with_soft_labels(backend):
    """Rows of ``T`` that sum to 1 without being one-hot still give ``softmax(Z) - T``."""
    xp = backend.xp
    loss = CrossEntropy()
    Z = _dev(backend, host_random(5, (2, 3)))
    T = _dev(backend, [[0.2, 0.5, 0.3], [0.0, 0.9, 0.1]])
    _, delta = loss.value_and_delta(xp, Z, T)
    assert_gradient(backend, delta, lambda A: float(loss.value_and_delta(xp, A, T)[0]), Z)


@pytest.mark.parametrize("name", NAMES)
def test_float32_dtype_preserved(backend, name):
    """float32 in, float32 out: value, gradient and delta."""
    xp = backend.xp
    loss = get_loss(name)
    Y, T = _dev(backend, _outputs(name), "float32"), _dev(backend, _targets(name), "float32")
    Z = _dev(backend, host_random(6, (N, K)), "float32")
    value, delta = loss.value_and_delta(xp, Z, T)
    assert backend.dtype_name(loss.value(xp, Y, T).dtype) == "float32"
    assert backend.dtype_name(value.dtype) == "float32"
    assert_on_backend(backend, loss.gradient(xp, Y, T), "float32")
    assert_on_backend(backend, delta, "float32")


# -- known values -------------------------------------------------------------------

@pytest.mark.parametrize("loss, Y, T, expected", [
    (SquaredError(), [[1.0, 2.0]], [[0.0, 0.0]], 2.5),
    (SquaredError(), [[1.0, 2.0], [3.0, 4.0]], [[0.0, 0.0], [0.0, 0.0]], 7.5),
    (SquaredError(), [[1.0, 2.0, 3.0]], [[1.0, 0.0, 0.0]], 6.5),
    (MeanSquaredError(), [[1.0, 2.0, 3.0]], [[0.0, 0.0, 0.0]], 14.0 / 3.0),
    (MeanSquaredError(), [[1.0, 2.0], [3.0, 5.0]], [[1.0, 1.0], [1.0, 1.0]], 21.0 / 4.0),
    (CrossEntropy(), [[0.2, 0.8]], [[0.0, 1.0]], -math.log(0.8)),
    (CrossEntropy(), [[0.2, 0.8], [0.5, 0.5]], [[1.0, 0.0], [0.0, 1.0]],
     (-math.log(0.2) - math.log(0.5)) / 2),
    (BinaryCrossEntropy(), [[0.9, 0.2]], [[1.0, 0.0]], -math.log(0.9) - math.log(0.8)),
    (BinaryCrossEntropy(), [[0.5, 0.5], [0.5, 0.5]], [[1.0, 0.0], [0.0, 0.0]], 2 * math.log(2)),
], ids=["sq-one", "sq-mean", "sq-target", "mse-one", "mse-mean", "ce-one", "ce-mean",
        "bce-one", "bce-half"])
def test_known_values(backend, loss, Y, T, expected):
    """Values by hand; every loss is a mean over samples of a per-sample sum."""
    value = loss.value(backend.xp, _dev(backend, Y), _dev(backend, T))
    assert float(value) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("k", [2, 3, 5])
def test_cross_entropy_of_uniform_prediction_is_log_k(backend, k):
    """A uniform prediction over ``k`` classes costs ``log k``, from ``Y`` and from ``Z = 0``."""
    xp = backend.xp
    loss = CrossEntropy()
    T = _dev(backend, np.eye(k)[[0, k - 1]])
    assert float(loss.value(xp, _dev(backend, np.full((2, k), 1.0 / k)), T)) \
        == pytest.approx(math.log(k), rel=1e-12)
    value, delta = loss.value_and_delta(xp, _dev(backend, np.zeros((2, k))), T)
    assert float(value) == pytest.approx(math.log(k), rel=1e-12)
    np.testing.assert_allclose(backend.to_numpy(delta),
                               (1.0 / k - np.eye(k)[[0, k - 1]]) / 2, rtol=1e-12)


def test_binary_cross_entropy_at_zero_logit(backend):
    """``sigmoid(0) = 1/2`` costs ``log 2`` per output whatever the target."""
    value, delta = BinaryCrossEntropy().value_and_delta(
        backend.xp, _dev(backend, np.zeros((2, 3))), _dev(backend, [[1, 0, 1], [0, 0, 1]]))
    assert float(value) == pytest.approx(3 * math.log(2), rel=1e-12)
    np.testing.assert_allclose(backend.to_numpy(delta), [[-0.25, 0.25, -0.25], [0.25, 0.25, -0.25]])


@pytest.mark.parametrize("name", NAMES)
def test_perfect_prediction_costs_nothing(backend, name):
    """``Y == T`` costs 0 for the squared errors; a huge correct logit costs ~0 for the others."""
    xp = backend.xp
    loss = get_loss(name)
    T = _targets(name)
    if loss.link == "identity":
        value, delta = loss.value_and_delta(xp, _dev(backend, T), _dev(backend, T))
    tolerance = 1e-20
    if loss.link == "identity":
        value, delta = loss.value_and_delta(xp, _dev(backend, T), _dev(backend, T))
    elif loss.link == "exp":  # z = log t where t > 0; t = 0 needs z = -inf: a very negative one
        Z = np.log(np.where(T > 0, T, 1e-300))
        value, delta = loss.value_and_delta(xp, _dev(backend, Z), _dev(backend, T))
        tolerance = 1e-15  # the rounding of exp(log t) - t log t, terms of about t
    else:  # logits of ±50: correct with probability 1 - O(e^-50)
        value, delta = loss.value_and_delta(xp, _dev(backend, 100.0 * T - 50.0), _dev(backend, T))
    assert float(value) == pytest.approx(0.0, abs=tolerance)
    np.testing.assert_allclose(backend.to_numpy(delta), 0.0, atol=tolerance)


# -- stability ------------------------------------------------------------------------

HUGE = [[1e300, -1e300, 0.0], [-1e300, 1e300, 1e10], [-1e10, 0.0, -1e300]]


@pytest.mark.parametrize("name", ["cross_entropy", "binary_cross_entropy"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_value_and_delta_finite_at_huge_logits(backend, name, seed):
    """Logits of ±1e300 give a finite value and delta, without a warning."""
    loss = get_loss(name)
    T = _dev(backend, _targets(name, seed, n=3, k=3))
    value, delta = loss.value_and_delta(backend.xp, _dev(backend, HUGE), T)
    assert math.isfinite(float(value))
    assert np.all(np.isfinite(backend.to_numpy(delta)))


def test_binary_cross_entropy_exact_at_huge_logits(backend):
    """Right answers at ±1e300 cost 0; a wrong one costs its logit."""
    xp = backend.xp
    Z = _dev(backend, [[1e300, -1e300]])
    value, delta = BinaryCrossEntropy().value_and_delta(xp, Z, _dev(backend, [[1.0, 0.0]]))
    assert float(value) == 0.0
    assert backend.to_numpy(delta).tolist() == [[0.0, 0.0]]
    value, delta = BinaryCrossEntropy().value_and_delta(xp, Z, _dev(backend, [[1.0, 1.0]]))
    assert float(value) == pytest.approx(1e300, rel=1e-15)
    assert backend.to_numpy(delta).tolist() == [[0.0, -1.0]]


def test_cross_entropy_exact_at_huge_logits(backend):
    """A right answer at 1e300 costs 0 with delta 0; a wrong one costs a lot, finitely."""
    xp = backend.xp
    Z = _dev(backend, [[1e300, -1e300, 0.0]])
    value, delta = CrossEntropy().value_and_delta(xp, Z, _dev(backend, [[1.0, 0.0, 0.0]]))
    assert float(value) == 0.0
    np.testing.assert_allclose(backend.to_numpy(delta), [[0.0, 0.0, 0.0]], atol=1e-300)
    value, delta = CrossEntropy().value_and_delta(xp, Z, _dev(backend, [[0.0, 0.0, 1.0]]))
    assert 700.0 < float(value) < math.inf  # log-probabilities are floored, not -inf
    np.testing.assert_allclose(backend.to_numpy(delta), [[1.0, 0.0, -1.0]], atol=1e-300)


@pytest.mark.parametrize("name", ["cross_entropy", "binary_cross_entropy"])
def test_value_and_gradient_finite_at_saturated_outputs(backend, name):
    """``Y`` exactly 0 or 1 gives a finite value and gradient (the logarithm is clipped)."""
    xp = backend.xp
    loss = get_loss(name)
    Y = _dev(backend, [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    T = _dev(backend, [[0.0, 1.0, 0.0], [0.0, 1.0, 0.0]])
    assert math.isfinite(float(loss.value(xp, Y, T)))
    assert float(loss.value(xp, Y, T)) > 100.0  # a confident wrong answer costs a lot
    assert np.all(np.isfinite(backend.to_numpy(loss.gradient(xp, Y, T))))


# -- the registry -----------------------------------------------------------------------

def test_unknown_loss_lists_known_names():
    """An unknown name raises ValueError naming every known loss."""
    with pytest.raises(ValueError, match="unknown loss") as info:
        get_loss("hinge_of_doom")
    for name in NAMES:
        assert name in str(info.value)


@pytest.mark.parametrize("alias, cls", [
    ("log_loss", CrossEntropy), ("mean_squared_error", MeanSquaredError),
    ("squared_error", SquaredError), ("mse", MeanSquaredError), ("MSE", MeanSquaredError),
    ("cross_entropy", CrossEntropy), ("binary_cross_entropy", BinaryCrossEntropy),
    ("binary_crossentropy", BinaryCrossEntropy), ("categorical_crossentropy", CrossEntropy),
])
def test_aliases_resolve(alias, cls):
    """Aliases (and case variants) build the right loss."""
    assert type(get_loss(alias)) is cls


def test_every_entry_builds_its_class_and_instances_pass_through():
    """Each registry entry builds a :class:`Loss` with a known link; instances come back as is."""
    links = {"squared_error": "identity", "mse": "identity", "cross_entropy": "softmax",
             "binary_cross_entropy": "sigmoid", "poisson": "exp"}
    for name in NAMES:
        loss = get_loss(name)
        assert isinstance(loss, Loss) and type(loss) is LOSSES[name]
        assert loss.link == links[loss.name]
    loss = BinaryCrossEntropy()
    assert get_loss(loss) is loss


@pytest.mark.parametrize("name", NAMES)
def test_integer_sample_weights_equal_repeated_rows(backend, name):
    """Weight 2 on a row is that row twice, weight 0 is the row left out: value and the
    gradient of the value (the delta's rows of a repeated row summed)."""
    xp = backend.xp
    loss = get_loss(name)
    Z, T = host_random(3, (N, K)), _targets(name)
    if loss.link == "identity":
        Z = _outputs(name)
    counts = np.array([2.0, 0.0, 1.0, 3.0])
    repeat = np.repeat(np.arange(N), counts.astype(int))
    w = _dev(backend, counts[:, None])
    value, delta = loss.value_and_delta(xp, _dev(backend, Z), _dev(backend, T), w)
    value_r, delta_r = loss.value_and_delta(xp, _dev(backend, Z[repeat]), _dev(backend, T[repeat]))
    assert float(value) == pytest.approx(float(value_r), rel=1e-12)
    summed = np.zeros((N, K))
    np.add.at(summed, repeat, backend.to_numpy(delta_r))
    np.testing.assert_allclose(backend.to_numpy(delta), summed, rtol=1e-12, atol=1e-15)
    Y = _outputs(name)
    assert float(loss.value(xp, _dev(backend, Y), _dev(backend, T), w)) == pytest.approx(
        float(loss.value(xp, _dev(backend, Y[repeat]), _dev(backend, T[repeat]))), rel=1e-12)
    gradient = backend.to_numpy(loss.gradient(xp, _dev(backend, Y), _dev(backend, T), w))
    summed = np.zeros((N, K))
    np.add.at(summed, repeat, backend.to_numpy(
        loss.gradient(xp, _dev(backend, Y[repeat]), _dev(backend, T[repeat]))))
    np.testing.assert_allclose(gradient, summed, rtol=1e-12, atol=1e-15)
