"""Property tests with hypothesis.extra.array_api, on every available backend.

The ``ci`` profile (the default, registered in conftest.py) runs 1000 examples
per property and backend; ``--hypothesis-profile nightly`` runs 20000.  A backend
whose examples cost far more runs a share of them (:data:`EXAMPLE_SHARE`).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.errors import HypothesisWarning
from hypothesis.extra.array_api import make_strategies_namespace

import bpnn
from bpnn.activations import ACTIVATIONS, get_activation
from bpnn.update import writable

N_FEATURES = 3
FLOAT_DTYPES = ("float32", "float64")


#: The share of the profile's examples a backend runs, where each example costs far more
#: than elsewhere: JAX compiles every operation anew for every new shape it sees, so an
#: example costs milliseconds (a property's 50 CI examples on JAX take as long as its
#: 1000 on NumPy).  The profile scales every backend alike (``nightly``: 1000 examples per
#: property on JAX).
EXAMPLE_SHARE = {"jax": 0.05}


def run_property(check, *strategies, backend=None):
    """Run ``check`` on examples drawn from ``strategies`` and make sure the profile's
    number of examples (1000 in CI; :data:`EXAMPLE_SHARE` of it on ``backend``) really
    ran."""
    ran = []
    share = EXAMPLE_SHARE.get(getattr(backend, "name", None), 1.0)
    examples = max(int(settings().max_examples * share), 1)

    @settings(max_examples=examples)
    @given(st.tuples(*strategies))
    def counted(drawn):
        check(*drawn)
        ran.append(None)

    counted()
    assert len(ran) >= examples


def strategies_for(backend):
    """hypothesis' Array API strategies in the backend's own namespace (drawn in NumPy's
    and moved to the backend where its arrays are immutable: see :class:`HostDrawn`)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", HypothesisWarning)  # compat wrappers are not "modules"
        if not writable(backend.xp):
            return HostDrawn(make_strategies_namespace(np, api_version="2023.12"), backend)
        return make_strategies_namespace(backend.xp, api_version="2023.12")


class HostDrawn:
    """hypothesis' strategies in NumPy's namespace whose arrays are then moved to the
    backend: hypothesis fills an array element by element, which on immutable arrays
    (JAX) copies the whole array per element.  The drawn values are the same; the
    property still runs on the backend's arrays."""

    def __init__(self, host, backend):
        self.host, self.backend = host, backend

    def arrays(self, dtype, shape, **options):
        return self.host.arrays(np.dtype(dtype), shape, **options).map(
            lambda array: self.backend.asarray(array))

    def __getattr__(self, name):
        return getattr(self.host, name)


_NETWORKS = {}


def network(backend, dtype):
    """One trained-looking network per backend and dtype (weights from seed 0)."""
    key = (backend.name, dtype)
    if key not in _NETWORKS:
        net = bpnn.mlp([N_FEATURES, 7, 5, 2], activation=["tanh", "relu"],
                       loss="cross_entropy", backend=backend.name, dtype=dtype, seed=0)
        _NETWORKS[key] = net.build()
    return _NETWORKS[key]


def finite(dtype, bound=None):
    """Finite floats of ``dtype``, up to ±``bound`` (the whole range by default)."""
    options = {"allow_nan": False, "allow_infinity": False, "allow_subnormal": False}
    if bound is not None:
        options.update(min_value=-bound, max_value=bound)
    return st.floats(width=32 if dtype == "float32" else 64, **options)


def rows(xps, backend, dtype, bound=1e3, min_rows=1, max_rows=24):
    return xps.arrays(backend.dtype(dtype), st.tuples(st.integers(min_rows, max_rows),
                                                      st.just(N_FEATURES)),
                      elements=finite(dtype, bound))


def host(backend, array):
    return backend.to_numpy(array).astype(np.float64)


def tolerance(dtype):
    return {"rtol": 1e-5, "atol": 1e-6} if dtype == "float32" else {"rtol": 1e-12, "atol": 1e-13}


def dtypes():
    return st.sampled_from(FLOAT_DTYPES)


def test_softmax_rows_sum_to_one(backend):
    xps = strategies_for(backend)
    softmax = get_activation("softmax")

    def check(X):
        dtype = backend.dtype_name(X.dtype)
        Y = softmax.forward(backend.xp, X)
        out = host(backend, Y)
        assert backend.owns(Y) and backend.dtype_name(Y.dtype) == dtype
        assert np.all((out >= 0) & (out <= 1))
        np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=0, atol=1e-5 if dtype == "float32"
                                   else 1e-12)

    run_property(check, dtypes().flatmap(lambda dtype: xps.arrays(
        backend.dtype(dtype), xps.array_shapes(min_dims=2, max_dims=2, max_side=12),
        elements=finite(dtype, 1e300 if dtype == "float64" else None))), backend=backend)


def test_activations_are_finite_and_quiet_over_the_whole_float_range(backend):
    xps = strategies_for(backend)

    def check(name, X):  # warnings are errors in this suite: any overflow warning fails here
        f = get_activation(name)
        Y = f.forward(backend.xp, X)
        dX = f.backward(backend.xp, backend.xp.ones_like(X), X, Y)
        assert np.all(np.isfinite(host(backend, Y))) and np.all(np.isfinite(host(backend, dX)))

    # softmax is not elementwise; exp is unbounded (e^1e300 is inf by definition)
    run_property(check, st.sampled_from(sorted(set(ACTIVATIONS) - {"softmax", "exp"})),
                 dtypes().flatmap(lambda dtype: xps.arrays(
                     backend.dtype(dtype), xps.array_shapes(max_dims=2, max_side=8),
                     elements=finite(dtype, 1e300 if dtype == "float64" else None))),
                 backend=backend)


def test_predictions_do_not_depend_on_sample_order(backend):
    xps = strategies_for(backend)

    def check(X, random):
        dtype = backend.dtype_name(X.dtype)
        net = network(backend, dtype)
        order = list(range(X.shape[0]))
        random.shuffle(order)
        permuted = backend.xp.take(X, backend.asarray(np.asarray(order)), axis=0)
        np.testing.assert_allclose(host(backend, net.predict(permuted)),
                                   host(backend, net.predict(X))[order], **tolerance(dtype))

    run_property(check, dtypes().flatmap(lambda dtype: rows(xps, backend, dtype)),
                 st.randoms(use_true_random=False), backend=backend)


def test_predictions_do_not_depend_on_batching(backend):
    xps = strategies_for(backend)

    def check(X, data):
        dtype = backend.dtype_name(X.dtype)
        net = network(backend, dtype)
        cut = data.draw(st.integers(1, X.shape[0] - 1))
        whole = host(backend, net.predict(X))
        parts = np.concatenate([host(backend, net.predict(X[:cut, ...])),
                                host(backend, net.predict(X[cut:, ...]))])
        np.testing.assert_allclose(parts, whole, **tolerance(dtype))

    run_property(check, dtypes().flatmap(
        lambda dtype: rows(xps, backend, dtype, min_rows=2, max_rows=30)), st.data(),
        backend=backend)


def test_outputs_keep_the_inputs_namespace_and_dtype(backend):
    xps = strategies_for(backend)

    def check(X):  # also: no warning from any prediction over the whole finite range
        dtype = backend.dtype_name(X.dtype)
        net = bpnn.mlp([N_FEATURES, 4, 2], activation="sigmoid", loss="cross_entropy", seed=0)
        Y = net.predict(X)  # a network built from the data: its backend and dtype
        assert net.backend.name == backend.name and backend.owns(Y)
        assert backend.dtype_name(Y.dtype) == dtype and tuple(Y.shape) == (X.shape[0], 2)

    run_property(check, dtypes().flatmap(lambda dtype: rows(xps, backend, dtype,
                                               bound=1e300 if dtype == "float64" else None)),
                 backend=backend)


BAD_KINDS = ("nan", "inf", "-inf", "empty", "vector", "3-d", "columns", "complex",
             "other dtype range")


def test_bad_inputs_raise_a_clear_value_error(backend):
    xps = strategies_for(backend)
    net = network(backend, "float32")  # a float32 model: float64 data beyond its range is bad
    xp = backend.xp

    def check(X, kind, data):
        dtype = backend.dtype_name(X.dtype)
        n = X.shape[0]
        host_X = backend.to_numpy(X).astype(dtype)
        if kind in ("nan", "inf", "-inf"):
            row, column = data.draw(st.integers(0, n - 1)), data.draw(st.integers(0, 2))
            host_X[row, column] = float(kind)
            bad, message = backend.asarray(host_X), f"NaN or infinity \\(first at row {row}, " \
                                                     f"column {column}\\)"
        elif kind == "empty":
            bad, message = xp.zeros((0, N_FEATURES), dtype=X.dtype), "empty"
        elif kind == "vector":
            bad, message = xp.reshape(X, (-1,)), "must be 2-D"
        elif kind == "3-d":
            bad, message = xp.reshape(X, (1, n, N_FEATURES)), "must be 2-D"
        elif kind == "columns":
            bad, message = xp.concat([X, X], axis=1), "6 columns but the network expects 3"
        elif kind == "complex":
            bad, message = backend.xp.asarray(host_X.astype(np.complex128)) if backend.name != \
                "torch" else host_X.astype(np.complex128), "real numbers"
        else:  # 1e300 does not fit in the model's float32
            if dtype == "float32":
                return
            host_X[0, 0] = 1e300
            bad, message = backend.asarray(host_X), "beyond the range of the model's dtype"
        with pytest.raises(ValueError, match=message):
            net.predict(bad)

    run_property(check, dtypes().flatmap(lambda dtype: rows(xps, backend, dtype)),
                 st.sampled_from(BAD_KINDS), st.data(), backend=backend)


LOSS_NAMES = ["squared_error", "mse", "cross_entropy", "binary_cross_entropy"]


def test_losses_are_quiet_for_any_finite_output(backend):
    """evaluate() on outputs anywhere in the float64 range: a number (inf where the true
    loss is beyond the range), never NaN, a warning or an exception."""
    xps = strategies_for(backend)
    float64 = backend.dtype("float64")
    networks = {}
    for loss in LOSS_NAMES:  # identity networks: the loss sees the drawn outputs as they are
        link = bpnn.get_loss(loss).link
        layers = [bpnn.Dense(2, 2)] + ([] if link == "identity" else [bpnn.Activation(link)])
        networks[loss] = bpnn.Network(layers, loss=loss, backend=backend.name, dtype="float64",
                                      seed=0).build(weights=[np.eye(2), np.zeros(2)])

    def case(loss):
        # outputs anywhere in the range; targets anywhere for the squared errors, and
        # probabilities (their valid range) for the cross-entropies
        identity = bpnn.get_loss(loss).link == "identity"
        target = finite("float64", 1e300) if identity else st.floats(0.0, 1.0)
        return st.integers(1, 6).flatmap(lambda n: st.tuples(
            st.just(loss), xps.arrays(float64, (n, 2), elements=finite("float64", 1e300)),
            xps.arrays(float64, (n, 2), elements=target)))

    def check(drawn):
        loss, Z, T = drawn
        value = networks[loss].evaluate(Z, T)
        assert isinstance(value, float) and not np.isnan(value)

    run_property(check, st.sampled_from(LOSS_NAMES).flatmap(case), backend=backend)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_classifier_never_predicts_a_label_unseen_at_fit():
    """Whatever the labels (ints or strings, any count, any balance), ``predict`` gives
    only labels of ``classes_`` (the sorted distinct labels of ``y``), and ``partial_fit``
    refuses a label it has not seen.  Label handling is on the host: one backend suffices."""
    pytest.importorskip("sklearn")
    pool = st.sampled_from([[-3, 0, 7, 12], ["a", "bb", "c", "dd"], [True, False]])

    def check(labels, picks, seed):
        labels = np.array(labels)
        y = labels[np.array(picks) % len(labels)]
        if len(np.unique(y)) < 2:
            y[0], y[1] = labels[0], labels[1]
        X = np.random.default_rng(seed).normal(size=(len(y), 3))
        model = bpnn.MLPClassifier((3,), solver="sgd", max_iter=2, random_state=seed)
        model.fit(X, y)
        np.testing.assert_array_equal(model.classes_, np.unique(y))
        predicted = model.predict(np.random.default_rng(seed + 1).normal(size=(25, 3)) * 10)
        assert set(predicted.tolist()) <= set(np.unique(y).tolist())
        unseen = [label for label in labels.tolist() if label not in set(y.tolist())]
        if unseen:
            with pytest.raises(ValueError, match="`y` has classes not in `self.classes_`"):
                model.partial_fit(X[:1], np.array(unseen[:1], dtype=y.dtype))

    run_property(check, pool, st.lists(st.integers(0, 3), min_size=2, max_size=12),
                 st.integers(0, 2 ** 16))
