"""The training loop: online, minibatch and full batch, shuffling, history, callbacks, errors."""

from __future__ import annotations

import numpy as np
import pytest

import bpnn
from bpnn import SGD, Callback, DivergenceError, LambdaCallback
from bpnn.steps import TrainStep, clear_compiled
from helpers import host_random

X = host_random(0, (10, 2), -1, 1)
T = np.sin(X[:, :1] * 2) + 0.5 * X[:, 1:]


def make(backend, seed=4, **kwargs):
    return bpnn.mlp([2, 5, 1], activation="tanh", seed=seed, backend=backend, **kwargs)


def manual_steps(backend, net, batches, lr):
    """Plain SGD by hand from Network.backward, batch by batch; returns the losses."""
    losses = []
    for rows in batches:
        loss, grads = net.backward(X[rows], T[rows])
        losses.append((loss, len(rows)))
        params = net.parameters
        for index, grad in enumerate(grads):
            param = params[index]
            param -= lr * grad
            params[index] = param  # the same array, or a new one where arrays are immutable
        net.adopt_parameters(params)
    return losses


def assert_same_weights(backend, a, b):
    # to rounding: bpnn's SGD scales the gradient in place (dW *= lr, W -= dW) where the
    # hand steps subtract lr * dW
    tol = 1e-12
    for u, v in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(u, v, rtol=tol, atol=tol)


@pytest.mark.parametrize("batch_size", [1, 3, None], ids=["online", "minibatch", "full"])
def test_steps_without_shuffle_equal_hand_steps(backend, batch_size):
    net, reference = make(backend), make(backend)
    history = net.fit(X, T, epochs=3, batch_size=batch_size, optimizer=SGD(lr=0.2),
                      shuffle=False)
    step = batch_size or len(X)
    batches = [list(range(i, min(i + step, len(X)))) for i in range(0, len(X), step)]
    for epoch in range(3):
        losses = manual_steps(backend, reference, batches, 0.2)
        mean = sum(loss * n for loss, n in losses) / len(X)
        assert history["loss"][epoch] == pytest.approx(mean, rel=1e-12)
    assert_same_weights(backend, net, reference)


class _GeneralSGD(SGD):
    """Plain SGD that does not declare itself plain gradient descent: its steps go
    through ``advance`` and ``apply`` with the true gradients, as an optimizer with
    state would (no rate folded into the backward pass)."""

    def descent_rate(self):
        return None


@pytest.mark.parametrize("l2", [0.0, 0.05])
def test_the_folded_descent_step_is_the_optimizers_own_step(backend, l2):
    """TrainStep takes plain SGD's step itself (rate folded into the output delta,
    gradients subtracted); the optimizer's ``apply`` on true gradients gives the same
    run, to rounding."""
    net, reference = make(backend), make(backend)
    w = np.linspace(0.5, 2.0, len(X))
    history = net.fit(X, T, epochs=3, batch_size=3, optimizer=SGD(lr=0.2), l2=l2,
                      sample_weight=w)
    expected = reference.fit(X, T, epochs=3, batch_size=3, optimizer=_GeneralSGD(lr=0.2),
                             l2=l2, sample_weight=w)
    np.testing.assert_allclose(history["loss"], expected["loss"], rtol=1e-12)
    assert_same_weights(backend, net, reference)
    assert history["loss"][-1] < history["loss"][0]  # it trained


def test_only_a_compiling_backend_prepares_a_traced_step(backend, monkeypatch):
    """A backend that does not compile gets no template of the step (copies of the
    live network, layers and optimizer) and no cache of compiled steps; JAX gets both."""
    built = []
    template = TrainStep._template
    monkeypatch.setattr(TrainStep, "_template", lambda self: built.append(1) or template(self))
    clear_compiled()  # a step of this structure compiled by an earlier test is not reused
    net = make(backend)
    net.fit(X, T, epochs=1, batch_size=5, optimizer=SGD(lr=0.1))
    assert bool(built) is backend.compiles
    assert hasattr(net, "_compiled_steps") is backend.compiles


def test_shuffle_follows_the_seeded_stream(backend):
    net, reference = make(backend), make(backend)
    net.fit(X, T, epochs=2, batch_size=4, optimizer=SGD(lr=0.1))
    reference.build()
    for _ in range(2):
        order = backend.to_numpy(reference.rng.permutation(len(X))).tolist()
        manual_steps(backend, reference, [order[i:i + 4] for i in range(0, len(X), 4)], 0.1)
    assert_same_weights(backend, net, reference)


def test_batch_larger_than_data_is_full_batch(backend):
    a, b = make(backend), make(backend)
    a.fit(X, T, epochs=2, batch_size=1000, optimizer=SGD(lr=0.1))
    b.fit(X, T, epochs=2, batch_size=None, optimizer=SGD(lr=0.1))
    assert_same_weights(backend, a, b)


@pytest.mark.parametrize("optimizer", ["adam", SGD(lr=0.1, momentum=0.9, nesterov=True)],
                         ids=["adam", "nesterov"])
def test_training_reduces_the_loss(backend, optimizer):
    net = make(backend)
    history = net.fit(X, T, epochs=40, batch_size=5, optimizer=optimizer)
    assert len(history["loss"]) == 40 and history.epoch == list(range(40))
    assert history["loss"][-1] < 0.5 * history["loss"][0]
    assert net.history is history


def test_l2_shrinks_the_weights(backend):
    plain, shrunk = make(backend), make(backend)
    plain.fit(X, T, epochs=30, batch_size=5, optimizer=SGD(lr=0.1))
    shrunk.fit(X, T, epochs=30, batch_size=5, optimizer=SGD(lr=0.1), l2=1.0)
    norm = [float(np.sum(n.get_weights()[0] ** 2)) for n in (plain, shrunk)]
    assert norm[1] < 0.5 * norm[0]


def test_validation_loss_is_recorded(backend):
    net = make(backend)
    X_val, T_val = X[:4] + 0.1, T[:4]
    seen = []
    callback = LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(
        (logs["val_loss"], net.evaluate(X_val, T_val))))
    history = net.fit(X, T, epochs=3, validation_data=(X_val, T_val), callbacks=[callback])
    assert len(history["val_loss"]) == 3
    for recorded, direct in seen:
        assert recorded == pytest.approx(direct, rel=1e-12)


class Recorder(Callback):
    def __init__(self, stop_after=None):
        self.calls = []
        self.stop_after = stop_after

    def on_train_begin(self, logs=None):
        self.calls.append("begin")

    def on_epoch_end(self, epoch, logs=None):
        self.calls.append(epoch)
        assert set(logs) == {"loss", "lr"}
        if epoch == self.stop_after:
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        self.calls.append("end")


def test_callback_protocol_and_stopping(backend):
    net = make(backend)
    recorder = Recorder(stop_after=2)
    history = net.fit(X, T, epochs=10, callbacks=[recorder])
    assert recorder.model is net
    assert recorder.calls == ["begin", 0, 1, 2, "end"]
    assert len(history["loss"]) == 3
    again = Recorder()
    net.fit(X, T, epochs=2, callbacks=[again])  # a new fit starts afresh
    assert again.calls == ["begin", 0, 1, "end"]


def test_divergence_stops_with_a_clear_error_and_keeps_finite_weights(backend):
    net = bpnn.mlp([2, 5, 1], activation="relu", seed=0, backend=backend)
    big = X * 1e150
    net.fit(big[:2] * 0, T[:2], epochs=1)  # build; weights are finite
    with pytest.raises(DivergenceError, match=r"diverged in epoch 0, step \d+: .*Lower the") \
            as caught:
        net.fit(big, T * 1e150, epochs=3, batch_size=2, optimizer=SGD(lr=10.0))
    assert caught.value.epoch == 0 and caught.value.step is not None
    for weights in net.get_weights():
        assert np.all(np.isfinite(weights))


@pytest.mark.parametrize("options, message", [
    ({"epochs": 0}, "epochs must be a positive integer"),
    ({"epochs": 2.5}, "epochs must be a positive integer"),
    ({"batch_size": 0}, "batch_size must be a positive integer"),
    ({"l2": -1.0}, "l2 must be a finite number >= 0"),
    ({"optimizer": "lbfgs"}, "unknown optimizer 'lbfgs'"),
])
def test_bad_options(options, message):
    with pytest.raises(ValueError, match=message):
        make("numpy").fit(X, T, **options)


def test_callbacks_must_be_callbacks():
    with pytest.raises(TypeError, match="Callback objects, got builtin_function"):
        make("numpy").fit(X, T, callbacks=[print])


def test_bad_validation_data_is_named():
    with pytest.raises(ValueError, match="X has 3 columns"):
        make("numpy").fit(X, T, validation_data=(np.ones((2, 3)), np.ones(2)))
