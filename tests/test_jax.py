"""The JAX backend: immutable arrays, and bpnn's own step compiled by ``jax.jit`` once per
batch shape (never again for a new learning rate or Adam's step count)."""

from __future__ import annotations

import numpy as np
import pytest

import bpnn
from bpnn.backends import BACKENDS, get_backend
from bpnn.steps import TrainStep, clear_compiled

available, reason = BACKENDS["jax"].availability()
pytestmark = pytest.mark.skipif(not available, reason=reason)

X = np.linspace(-1.0, 1.0, 40).reshape(-1, 1)
T = np.sin(3 * X)


@pytest.fixture(autouse=True)
def fresh_compiles():
    """Every test here traces its own steps: none shared from an earlier test (some
    patch what a trace reads)."""
    clear_compiled()
    yield
    clear_compiled()


@pytest.fixture
def traces(monkeypatch):
    """How many times the step's Python body runs: once per trace under ``jax.jit``."""
    count = [0]
    pure = TrainStep._pure

    def counted(self, *args):
        count[0] += 1
        return pure(self, *args)

    monkeypatch.setattr(TrainStep, "_pure", counted)
    return count


def test_the_step_is_compiled_once_per_shape(traces):
    net = bpnn.mlp([1, 8, 1], activation="tanh", backend="jax", dtype="float32", seed=0)
    schedule = bpnn.LearningRateScheduler(lambda epoch, lr: 0.05 / (1 + epoch))
    net.fit(X, T, epochs=6, batch_size=16, optimizer=bpnn.Adam(lr=0.05), callbacks=[schedule])
    # two batch shapes (16 and the last 8), each traced without and then with the
    # optimizer's state: a new lr each epoch and Adam's count each step trace nothing
    assert traces[0] <= 4


def test_compiled_and_eager_steps_give_the_same_run(monkeypatch):
    def run():
        net = bpnn.mlp([1, 8, 1], activation="tanh", backend="jax", dtype="float64", seed=0)
        history = net.fit(X, T, epochs=5, batch_size=8, optimizer=bpnn.Adam(lr=0.05))
        return history["loss"], net.get_weights()

    compiled = run()
    monkeypatch.setattr(type(get_backend("jax")), "compile", lambda self, function: None)
    eager = run()
    np.testing.assert_allclose(compiled[0], eager[0], rtol=1e-12)
    for a, b in zip(compiled[1], eager[1]):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-14)


def test_the_layers_hold_real_arrays_after_a_failed_trace(monkeypatch):
    """An error inside the traced step leaves no traced value in the network."""
    import jax

    net = bpnn.mlp([1, 4, 1], backend="jax", dtype="float32", seed=0)
    before = net.get_weights()

    def broken(self, *args, **kwargs):
        raise RuntimeError("a bug in a layer")

    monkeypatch.setattr(bpnn.Network, "loss_and_gradients", broken)
    # the trace fails, the step runs uncompiled, and the bug raises there with its own
    # traceback
    with pytest.warns(RuntimeWarning, match="could not be compiled"), \
            pytest.raises(RuntimeError, match="a bug in a layer"):
        net.fit(X, T, epochs=1, batch_size=8)
    assert not any(isinstance(p, jax.core.Tracer) for p in net.parameters)
    for a, b in zip(net.get_weights(), before):
        np.testing.assert_array_equal(a, b)


def test_jax_arrays_in_choose_the_jax_backend():
    import jax.numpy as jnp

    net = bpnn.mlp([1, 4, 1], seed=0)
    net.fit(jnp.asarray(X), jnp.asarray(T), epochs=1)
    assert net.backend.name == "jax"
    assert isinstance(net.predict(jnp.asarray(X)), jax_array_type())


def jax_array_type():
    import jax

    return jax.Array


def test_float64_is_float64():
    net = bpnn.mlp([1, 4, 1], backend="jax", dtype="float64", seed=0)
    net.fit(X, T, epochs=1)
    assert all(str(p.dtype) == "float64" for p in net.parameters)


def test_a_step_that_cannot_be_traced_runs_uncompiled(monkeypatch):
    """``X.device`` is the standard's idiom, and a value traced by ``jax.jit`` has none:
    such a layer trains uncompiled, with a warning, to the same numbers."""
    from bpnn.layers import Activation

    forward = Activation.forward

    def uses_the_device(self, xp, X, **options):
        xp.asarray(1.0, dtype=X.dtype, device=X.device)
        return forward(self, xp, X, **options)

    def run():
        net = bpnn.mlp([1, 6, 1], activation="tanh", backend="jax", dtype="float64", seed=0)
        return net.fit(X, T, epochs=3, batch_size=8, optimizer=bpnn.Adam(lr=0.05))["loss"]

    expected = run()
    monkeypatch.setattr(Activation, "forward", uses_the_device)
    clear_compiled()  # the step compiled above for this structure read the old forward
    with pytest.warns(RuntimeWarning, match="could not be compiled"):
        losses = run()
    np.testing.assert_allclose(losses, expected, rtol=1e-12)


def eager_run(monkeypatch, run):
    """``run()`` with the JAX backend compiling nothing."""
    with monkeypatch.context() as patched:
        patched.setattr(type(get_backend("jax")), "compile", lambda self, function: None)
        return run()


def fitted(seed, hidden=8, layers=None):
    net = bpnn.Network(layers, backend="jax", dtype="float64", seed=seed) if layers else \
        bpnn.mlp([1, hidden, 1], activation="tanh", backend="jax", dtype="float64", seed=seed)
    history = net.fit(X, T, epochs=3, batch_size=16, optimizer=bpnn.Adam(lr=0.05))
    return history["loss"], net.get_weights()


def assert_same_run(a, b):
    np.testing.assert_allclose(a[0], b[0], rtol=1e-12)
    for x, y in zip(a[1], b[1]):
        np.testing.assert_allclose(x, y, rtol=1e-11, atol=1e-14)


def test_networks_of_one_structure_share_the_compiled_step(traces, monkeypatch):
    """A second network of the same layers, loss, dtype and optimizer traces nothing,
    and makes its own run (its weights are the compiled step's inputs)."""
    fitted(0)
    first = traces[0]
    assert first > 0
    second = fitted(1)
    assert traces[0] == first
    assert_same_run(second, eager_run(monkeypatch, lambda: fitted(1)))


def test_another_structure_or_buffers_compile_their_own(traces, monkeypatch):
    """A wider layer, another optimizer setting, or a layer with buffers (constants of
    the step: Standardize's mean and scale) is traced for itself."""
    fitted(0)
    count = traces[0]
    fitted(0, hidden=9)
    assert traces[0] > count

    def standardized(seed, shift):
        layers = [bpnn.layers.Standardize(1, mean=[shift], scale=[2.0]),
                  bpnn.Dense(1, 4), bpnn.Activation("tanh"), bpnn.Dense(4, 1)]
        return fitted(seed, layers=layers)

    runs = [standardized(0, 0.0), standardized(0, 0.5)]
    assert not np.allclose(runs[0][0], runs[1][0])
    for shift, run in zip((0.0, 0.5), runs):
        assert_same_run(run, eager_run(monkeypatch, lambda shift=shift: standardized(0, shift)))
