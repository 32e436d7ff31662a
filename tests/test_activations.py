"""Activation functions: gradients, known values, stability, dtypes and the registry."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bpnn.activations import ACTIVATIONS, ActivationFunction, get_activation
from helpers import assert_gradient, assert_on_backend, host_random

NAMES = sorted(ACTIVATIONS)
ELEMENTWISE = [name for name in NAMES if name != "softmax"]
#: exp grows without bound: e^1e300 is inf, and so is its slope (a Poisson loss takes
#: the output's logarithm z instead, see test_losses)
BOUNDED = [name for name in ELEMENTWISE if name != "exp"]
EXTREMES = [-1e300, -1e10, -1.0, 0.0, 1.0, 1e10, 1e300]
F32_EXTREMES = [-3e38, -1e10, -1.0, 0.0, 1.0, 1e10, 3e38]

# Every activation together with non-default hyper-parameters.
CASES = [pytest.param(name, {}, id=name) for name in NAMES] + [
    pytest.param("leaky_relu", {"alpha": 0.2}, id="leaky_relu-alpha0.2"),
    pytest.param("elu", {"alpha": 0.5}, id="elu-alpha0.5"),
]


def _sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


def _gelu(x):
    return 0.5 * x * (1.0 + math.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


#: Plain-Python scalar references of the elementwise activations (default hyper-parameters).
REFERENCE = {
    "identity": lambda x: x,
    "sigmoid": _sigmoid,
    "tanh": math.tanh,
    "softsign": lambda x: x / (1.0 + abs(x)),
    "relu": lambda x: max(x, 0.0),
    "leaky_relu": lambda x: x if x > 0 else 0.01 * x,
    "elu": lambda x: x if x > 0 else math.exp(x) - 1.0,
    "softplus": lambda x: math.log1p(math.exp(x)),
    "gelu": _gelu,
    "swish": lambda x: x * _sigmoid(x),
    "gaussian": lambda x: math.exp(-x * x),
    "exp": math.exp,
}


def _canonical(name):
    return ACTIVATIONS[name].name


def _dev(backend, host, dtype="float64"):
    return backend.asarray(np.asarray(host, dtype=np.float64), dtype=backend.dtype(dtype))


def _away_from_kinks(host, margin=0.05):
    """Push every entry at least ``margin`` away from 0 (the kink of relu, leaky_relu, elu)."""
    return np.where(host >= 0, host + margin, host - margin)


def _forward_backward(backend, act, host, dtype="float64", dY=None):
    xp = backend.xp
    X = _dev(backend, host, dtype)
    Y = act.forward(xp, X)
    R = _dev(backend, np.ones_like(np.asarray(host)) if dY is None else dY, dtype)
    return X, Y, act.backward(xp, R, X, Y)


# -- gradients -------------------------------------------------------------------

@pytest.mark.parametrize("name, params", CASES)
@pytest.mark.parametrize("low, high", [(-2.0, 2.0), (-8.0, 8.0)], ids=["narrow", "wide"])
def test_backward_matches_central_differences(backend, name, params, low, high):
    """``backward`` is the vector-Jacobian product of ``forward`` (softmax on a (4, 5) matrix)."""
    xp = backend.xp
    act = get_activation(name, **params)
    X = _dev(backend, _away_from_kinks(host_random(1, (4, 5), low, high)))
    R = _dev(backend, host_random(2, (4, 5)))
    Y = act.forward(xp, X)
    analytic = act.backward(xp, R, X, Y)
    # a central difference of a sum of terms as large as |Y| carries rounding errors of
    # about |Y| * 1e-16 / 1e-6: the absolute tolerance grows with the function (exp)
    atol = 1e-8 * max(1.0, float(xp.max(xp.abs(Y))))
    assert_gradient(backend, analytic, lambda A: float(xp.sum(act.forward(xp, A) * R)), X,
                    atol=atol)


@pytest.mark.parametrize("name, x, slope", [
    ("sigmoid", 0.0, 0.25), ("tanh", 0.0, 1.0), ("softsign", 0.0, 1.0), ("softsign", 1.0, 0.25),
    ("relu", -1.0, 0.0), ("relu", 1.0, 1.0), ("leaky_relu", -1.0, 0.01),
    ("elu", -1.0, math.exp(-1)), ("softplus", 0.0, 0.5), ("gelu", 0.0, 0.5), ("swish", 0.0, 0.5),
    ("gaussian", 1.0, -2 * math.exp(-1)),
    ("identity", 3.0, 1.0),
])
def test_known_derivatives(backend, name, x, slope):
    """A few derivatives known by hand."""
    _, _, dX = _forward_backward(backend, get_activation(name), [[x]])
    np.testing.assert_allclose(backend.to_numpy(dX), [[slope]], rtol=1e-12, atol=1e-15)


# -- known values ----------------------------------------------------------------

@pytest.mark.parametrize("name", ELEMENTWISE)
def test_forward_matches_plain_python(backend, name):
    """Each elementwise activation equals its formula evaluated with :mod:`math`."""
    points = [-3.0, -1.0, -0.5, -0.1, 0.0, 0.1, 0.5, 1.0, 2.5]
    expected = [REFERENCE[_canonical(name)](x) for x in points]
    Y = get_activation(name).forward(backend.xp, _dev(backend, [points]))
    np.testing.assert_allclose(backend.to_numpy(Y), [expected], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name, x, expected", [
    ("sigmoid", 0.0, 0.5),
    ("logistic", 0.0, 0.5),
    ("softsign", 1.0, 0.5),
    ("softsign", -3.0, -0.75),
    ("relu", -2.0, 0.0),
    ("relu", 2.0, 2.0),
    ("leaky_relu", -2.0, -0.02),
    ("elu", -1.0, math.exp(-1.0) - 1.0),
    ("softplus", 0.0, math.log(2.0)),
    ("gaussian", 1.0, math.exp(-1.0)),
    ("gaussian", 0.0, 1.0),
    ("gelu", 1.0, 0.5 * (1.0 + math.tanh(math.sqrt(2.0 / math.pi) * 1.044715))),
    ("gelu", -2.0, -(1.0 + math.tanh(math.sqrt(2.0 / math.pi) * (-2.0 - 0.044715 * 8.0)))),
    ("swish", 2.0, 2.0 / (1.0 + math.exp(-2.0))),
    ("silu", -1.0, -1.0 / (1.0 + math.e)),
    ("identity", -7.5, -7.5),
    ("linear", 4.0, 4.0),
])
def test_known_values(backend, name, x, expected):
    """Values computed by hand."""
    Y = get_activation(name).forward(backend.xp, _dev(backend, [[x]]))
    np.testing.assert_allclose(backend.to_numpy(Y), [[expected]], rtol=1e-12, atol=1e-15)


def test_swish_is_x_times_sigmoid(backend):
    """``swish(x) = x * sigmoid(x)`` on the same backend."""
    xp = backend.xp
    X = _dev(backend, host_random(3, (3, 4), -6.0, 6.0))
    Y = get_activation("swish").forward(xp, X)
    S = get_activation("sigmoid").forward(xp, X)
    np.testing.assert_allclose(backend.to_numpy(Y), backend.to_numpy(X * S), rtol=1e-14)


def test_softmax_known_values(backend):
    """Rows sum to 1, the two-class case is a sigmoid, shifts do not matter."""
    xp = backend.xp
    act = get_activation("softmax")
    Y = backend.to_numpy(act.forward(xp, _dev(backend, [[0.0, math.log(3.0)], [2.0, 2.0]])))
    np.testing.assert_allclose(Y, [[0.25, 0.75], [0.5, 0.5]], rtol=1e-12)
    e = [math.exp(v) for v in (1.0, 2.0, 3.0)]
    X = _dev(backend, [[1.0, 2.0, 3.0], [1001.0, 1002.0, 1003.0]])
    Y = backend.to_numpy(act.forward(xp, X))
    np.testing.assert_allclose(Y, [[v / sum(e) for v in e]] * 2, rtol=1e-12)
    Y = backend.to_numpy(act.forward(xp, _dev(backend, host_random(4, (4, 5), -5.0, 5.0))))
    np.testing.assert_allclose(Y.sum(axis=1), np.ones(4), rtol=1e-12)
    assert np.all(Y > 0)


def test_softmax_is_row_wise(backend):
    """Each row is normalized on its own: changing one row leaves the others alone."""
    xp = backend.xp
    act = get_activation("softmax")
    host = host_random(5, (3, 4))
    Y1 = backend.to_numpy(act.forward(xp, _dev(backend, host)))
    host[1] += np.array([10.0, -3.0, 0.0, 1.0])
    Y2 = backend.to_numpy(act.forward(xp, _dev(backend, host)))
    np.testing.assert_allclose(Y2[[0, 2]], Y1[[0, 2]], rtol=1e-14)
    assert not np.allclose(Y2[1], Y1[1])


# -- numerical stability ------------------------------------------------------------

@pytest.mark.parametrize("name, params", [case for case in CASES if case.values[0] != "exp"])
def test_extreme_inputs_float64_finite(backend, name, params):
    """Inputs up to ±1e300 give finite outputs and gradients and no warning."""
    act = get_activation(name, **params)
    dY = host_random(6, (1, len(EXTREMES)))
    _, Y, dX = _forward_backward(backend, act, [EXTREMES], dY=dY)
    assert np.all(np.isfinite(backend.to_numpy(Y)))
    assert np.all(np.isfinite(backend.to_numpy(dX)))


#: The exact limits at ±1e300 (default hyper-parameters).
LIMITS = {
    "identity": (-1e300, 1e300),
    "sigmoid": (0.0, 1.0),
    "tanh": (-1.0, 1.0),
    "softsign": (-1.0, 1.0),
    "relu": (0.0, 1e300),
    "leaky_relu": (-1e298, 1e300),
    "elu": (-1.0, 1e300),
    "softplus": (0.0, 1e300),
    "gelu": (0.0, 1e300),
    "swish": (0.0, 1e300),
    "gaussian": (0.0, 0.0),
}


@pytest.mark.parametrize("name", BOUNDED)
def test_extreme_inputs_float64_limits(backend, name):
    """``f(±1e300)`` is the function's limit (``sigmoid(±1e300)`` is exactly 1 and 0)."""
    _, Y, _ = _forward_backward(backend, get_activation(name), [[-1e300, 1e300]])
    np.testing.assert_allclose(backend.to_numpy(Y), [list(LIMITS[_canonical(name)])],
                               rtol=1e-15, atol=0)


def test_sigmoid_saturates_exactly(backend):
    """``sigmoid(1e300) == 1`` and ``sigmoid(-1e300) == 0`` exactly, with zero slope."""
    _, Y, dX = _forward_backward(backend, get_activation("sigmoid"), [[-1e300, 1e300]])
    assert backend.to_numpy(Y).tolist() == [[0.0, 1.0]]
    assert backend.to_numpy(dX).tolist() == [[0.0, 0.0]]


def test_sigmoid_keeps_relative_precision_in_both_tails(backend):
    """``sigmoid(-x)`` is ``1 / (1 + e^x)`` to a few ulp, and ``1 - sigmoid(x)`` is too,
    to the spacing of the doubles near 1 (``exp(x - softplus(x))``, one operation
    fewer, is 16 times further off at ``x = 20``: ``softplus(x)`` rounds to ``x``'s ulp)."""
    x = [10.0, 20.0, 30.0, 35.0]
    _, Y, _ = _forward_backward(backend, get_activation("sigmoid"), [[-v for v in x] + x])
    Y = backend.to_numpy(Y)[0]
    exact = [1.0 / (1.0 + math.exp(v)) for v in x]
    np.testing.assert_allclose(Y[:4], exact, rtol=1e-14)
    # near 1 the doubles are 1.1e-16 apart: 1 - y is exact to that, not to 1e-14 of itself
    np.testing.assert_allclose(1.0 - Y[4:], exact, rtol=0, atol=2.3e-16)


@pytest.mark.parametrize("row, expected, dtype", [
    pytest.param([1e10, -1e10, 0.0], [1.0, 0.0, 0.0], "float64", id="1e10-float64"),
    pytest.param([-1e300, -1e300, -1e300], [1 / 3, 1 / 3, 1 / 3], "float64", id="equal-1e300"),
    pytest.param([1e300, -1e300, 0.0], [1.0, 0.0, 0.0], "float64", id="1e300-float64"),
    pytest.param([0.0, 1e20], [0.0, 1.0], "float64", id="1e20-float64"),
    pytest.param([3e38, -3e38, 0.0], [1.0, 0.0, 0.0], "float32", id="3e38-float32"),
    pytest.param([1e10, 0.0], [1.0, 0.0], "float32", id="1e10-float32"),
])
def test_softmax_extreme_rows(backend, row, expected, dtype):
    """Softmax of rows with huge entries is exact: ``softmax([1e300, -1e300, 0]) == [1, 0, 0]``."""
    _, Y, dX = _forward_backward(backend, get_activation("softmax"), [row], dtype)
    np.testing.assert_allclose(backend.to_numpy(Y), [expected], rtol=1e-6, atol=1e-30)
    assert np.all(np.isfinite(backend.to_numpy(dX)))


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "softsign", "softmax", "softplus"])
def test_extreme_inputs_float32_finite(backend, name):
    """float32 inputs up to ±3e38 give finite outputs and gradients and no warning."""
    dY = host_random(7, (1, len(F32_EXTREMES)))
    _, Y, dX = _forward_backward(backend, get_activation(name), [F32_EXTREMES], "float32", dY)
    assert_on_backend(backend, Y, "float32")
    assert np.all(np.isfinite(backend.to_numpy(Y)))
    assert np.all(np.isfinite(backend.to_numpy(dX)))


@pytest.mark.parametrize("name, expected", [
    ("sigmoid", [0.0, 1.0]), ("tanh", [-1.0, 1.0]), ("softsign", [-1.0, 1.0]),
    ("softplus", [0.0, 3e38]),
])
def test_extreme_inputs_float32_limits(backend, name, expected):
    """The float32 limits at ±3e38."""
    _, Y, _ = _forward_backward(backend, get_activation(name), [[-3e38, 3e38]], "float32")
    np.testing.assert_allclose(backend.to_numpy(Y), [expected], rtol=1e-6, atol=0)


# -- dtype and namespace ----------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name, params", CASES)
def test_dtype_and_namespace_preserved(backend, name, params, dtype):
    """``forward`` and ``backward`` keep the input's dtype and stay in the backend's namespace."""
    act = get_activation(name, **params)
    host = _away_from_kinks(host_random(8, (3, 4)))
    _, Y, dX = _forward_backward(backend, act, host, dtype, dY=host_random(9, (3, 4)))
    assert_on_backend(backend, Y, dtype)
    assert_on_backend(backend, dX, dtype)
    assert Y.shape == (3, 4) and dX.shape == (3, 4)


@pytest.mark.parametrize("name", NAMES)
def test_float32_agrees_with_float64(backend, name):
    """A float32 evaluation agrees with the float64 one to float32 precision."""
    act = get_activation(name)
    host = _away_from_kinks(host_random(10, (3, 4), -4.0, 4.0))
    dY = host_random(11, (3, 4))
    _, Y32, dX32 = _forward_backward(backend, act, host, "float32", dY)
    _, Y64, dX64 = _forward_backward(backend, act, host, "float64", dY)
    np.testing.assert_allclose(backend.to_numpy(Y32), backend.to_numpy(Y64), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(backend.to_numpy(dX32), backend.to_numpy(dX64), rtol=1e-5,
                               atol=1e-6)


# -- the registry -------------------------------------------------------------------

def test_registry_entries_are_activations():
    """Every entry builds an :class:`ActivationFunction`; aliases share a class."""
    for name in NAMES:
        act = get_activation(name)
        assert isinstance(act, ActivationFunction)
        assert type(act) is ACTIVATIONS[name]
    assert ACTIVATIONS["silu"] is ACTIVATIONS["swish"]
    assert ACTIVATIONS["logistic"] is ACTIVATIONS["sigmoid"]
    assert ACTIVATIONS["linear"] is ACTIVATIONS["identity"]
    assert set(REFERENCE) | {"softmax"} == {cls.name for cls in ACTIVATIONS.values()}


def test_get_activation_is_case_insensitive_and_passes_instances():
    """Names are case-insensitive; an instance comes back as it is."""
    assert get_activation("ReLU").name == "relu"
    act = get_activation("elu", alpha=0.3)
    assert get_activation(act) is act


def test_unknown_activation_lists_known_names():
    """An unknown name raises ValueError naming every known activation."""
    with pytest.raises(ValueError, match="unknown activation") as info:
        get_activation("no_such_activation")
    for name in NAMES:
        assert name in str(info.value)


@pytest.mark.parametrize("name, params", [
    ("relu", {"alpha": 0.1}), ("sigmoid", {"alpha": 0.1}), ("leaky_relu", {"beta": 1.0}),
    ("elu", {"slope": 1.0}), ("softmax", {"axis": 0}),
])
def test_unknown_parameter_raises(name, params):
    """A hyper-parameter the activation does not take raises ValueError."""
    with pytest.raises(ValueError, match=name):
        get_activation(name, **params)


@pytest.mark.parametrize("name, alpha, x, expected, slope", [
    ("leaky_relu", 0.2, -2.0, -0.4, 0.2),
    ("leaky_relu", 0.2, 3.0, 3.0, 1.0),
    ("elu", 2.0, -1.0, 2.0 * (math.exp(-1.0) - 1.0), 2.0 * math.exp(-1.0)),
    ("elu", 2.0, 3.0, 3.0, 1.0),
])
def test_alpha_is_honoured(backend, name, alpha, x, expected, slope):
    """``alpha`` sets the negative side of leaky_relu and elu, forward and backward."""
    act = get_activation(name, alpha=alpha)
    assert act.config() == {"alpha": alpha}
    _, Y, dX = _forward_backward(backend, act, [[x]])
    np.testing.assert_allclose(backend.to_numpy(Y), [[expected]], rtol=1e-12)
    np.testing.assert_allclose(backend.to_numpy(dX), [[slope]], rtol=1e-12)


@pytest.mark.parametrize(("name", "params"), [
    *[(name, {}) for name in BOUNDED], ("leaky_relu", {"alpha": 2.0}), ("elu", {"alpha": 3.0})])
def test_max_derivative_is_the_largest_slope(name, params):
    """``max_derivative`` bounds |f'| everywhere and is reached (within 0.1%) somewhere."""
    f = get_activation(name, **params)
    X = np.linspace(-12.0, 12.0, 480001)
    slopes = np.abs(f.backward(np, np.ones_like(X), X, f.forward(np, X)))
    assert slopes.max() <= f.max_derivative
    assert slopes.max() >= 0.999 * f.max_derivative


def test_exp_is_unbounded():
    """exp's slope has no bound: ``max_derivative`` is inf, and its slope is its value."""
    f = get_activation("exp")
    assert f.max_derivative == math.inf
    X = np.array([-3.0, 0.0, 30.0])
    np.testing.assert_array_equal(f.backward(np, np.ones_like(X), X, f.forward(np, X)), np.exp(X))


def test_sigmoid_bound_is_the_seeds_quarter():
    assert get_activation("sigmoid").max_derivative == 0.25
    assert get_activation("softmax").max_derivative is None
