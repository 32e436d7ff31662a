"""Dropout: inverted dropout in training, the identity at inference, its masks drawn from
the run's seeded host stream (the same on every backend, resumed by a checkpoint)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import bpnn
from bpnn import Dropout, LambdaCallback
from bpnn.distributed import GlobalRows
from bpnn.divergence import Snapshot
from bpnn.errors import InputError
from bpnn.lbfgs import lbfgs
from helpers import assert_gradient, assert_on_backend, host_random, numpy_backend

X = host_random(0, (40, 3))
T = np.sin(X.sum(axis=1, keepdims=True))


def _dev(backend, array, dtype="float64"):
    return backend.asarray(np.asarray(array), dtype=backend.dtype(dtype))


def dropout_net(backend, rate=0.4, seed=3):
    return bpnn.Network([bpnn.Dense(3, 8), bpnn.Activation("tanh"), Dropout(rate),
                         bpnn.Dense(8, 1)], backend=backend.name, seed=seed)


@pytest.mark.parametrize("rate", [-0.1, 1.0, 1.5, math.nan, math.inf, "0.5", True, None])
def test_rate_outside_zero_one_is_refused(rate):
    with pytest.raises(InputError, match="rate"):
        Dropout(rate)


def test_rate_accepts_numbers_in_range():
    assert Dropout(0).rate == 0.0
    assert Dropout(np.float32(0.25)).rate == 0.25
    assert repr(Dropout(0.5)) == "Dropout(rate=0.5)"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_inference_is_the_identity(backend, dtype):
    layer = Dropout(0.5)
    A = _dev(backend, host_random(1, (5, 4)), dtype)
    rng = backend.random(0)
    before = rng.state
    Y, backprop = layer.forward(backend.xp, A, rng=rng)  # training defaults to False
    assert_on_backend(backend, Y, dtype)
    np.testing.assert_array_equal(backend.to_numpy(Y), backend.to_numpy(A))
    dY = _dev(backend, host_random(2, (5, 4)), dtype)
    np.testing.assert_array_equal(backend.to_numpy(backprop(dY)[0]), backend.to_numpy(dY))
    assert backprop(dY, need_dX=False) == (None, ())
    assert rng.state == before  # nothing drawn at inference


def test_rate_zero_in_training_draws_nothing(backend):
    rng = backend.random(0)
    before = rng.state
    A = _dev(backend, host_random(1, (5, 4)))
    Y, _ = Dropout(0.0).forward(backend.xp, A, training=True, rng=rng)
    np.testing.assert_array_equal(backend.to_numpy(Y), backend.to_numpy(A))
    assert rng.state == before


def test_training_without_a_stream_is_refused(backend):
    with pytest.raises(InputError, match="random stream"):
        Dropout(0.5).forward(backend.xp, _dev(backend, np.ones((2, 2))), training=True)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_training_zeroes_or_scales_each_entry(backend, dtype):
    rate = 0.25
    A = _dev(backend, host_random(3, (400, 10), 1.0, 2.0), dtype)
    Y, backprop = Dropout(rate).forward(backend.xp, A, training=True, rng=backend.random(0))
    assert_on_backend(backend, Y, dtype)
    host, out = backend.to_numpy(A), backend.to_numpy(Y)
    kept = out != 0
    np.testing.assert_allclose(out[kept], host[kept] / (1 - rate), rtol=1e-6)
    # 4000 Bernoulli(0.25) draws: the dropped share is within 5 standard deviations
    assert abs((~kept).mean() - rate) < 5 * math.sqrt(rate * (1 - rate) / kept.size)
    dX = backend.to_numpy(backprop(_dev(backend, np.ones((400, 10)), dtype))[0])
    np.testing.assert_allclose(dX, kept / (1 - rate), rtol=1e-6)  # the same mask, scaled


def test_gradient_with_a_fixed_mask(backend):
    """dX = dY * M for Y = X * M, checked by central differences (float64)."""
    xp = backend.xp
    keep = (host_random(4, (4, 5), 0.0, 1.0) < 0.6).astype(np.float64)
    M = _dev(backend, keep / 0.6)
    A = _dev(backend, host_random(5, (4, 5)))
    R = _dev(backend, host_random(6, (4, 5)))
    _, backprop = Dropout.apply(xp, A, M)
    assert_gradient(backend, backprop(R)[0],
                    lambda B: float(xp.sum(Dropout.apply(xp, B, M)[0] * R)), A)


def test_network_gradient_through_dropout_with_the_stream_held(backend):
    """The training step's gradient equals central differences of the training loss when
    the stream is put back before each evaluation (so every evaluation draws one mask)."""
    net = dropout_net(backend).build()
    xp = backend.xp
    A, B = _dev(backend, X[:6]), _dev(backend, T[:6])
    state = net.rng.state

    def loss(W):
        net.rng.state = state
        saved = net.layers[0].params[0]
        net.layers[0].params[0] = W
        try:
            return float(net.loss_and_gradients(xp, A, B)[0])
        finally:
            net.layers[0].params[0] = saved

    net.rng.state = state
    _, grads = net.loss_and_gradients(xp, A, B)
    assert_gradient(backend, grads[0], loss, net.layers[0].params[0], rtol=1e-5, atol=1e-8)
    # and the mask does act: a different stream state gives another gradient
    _, other = net.loss_and_gradients(xp, A, B)
    assert not np.array_equal(backend.to_numpy(other[0]), backend.to_numpy(grads[0]))


def test_expected_value_is_preserved(backend):
    """E[Y] = X: the mean over 20000 draws of each entry is X within 5 standard errors."""
    rate = 0.3
    pattern = host_random(7, (1, 6), 0.5, 2.0)
    A = _dev(backend, np.repeat(pattern, 20000, axis=0))
    Y = backend.to_numpy(Dropout(rate).forward(backend.xp, A, training=True,
                                               rng=backend.random(1))[0])
    std_error = pattern[0] * math.sqrt(rate / (1 - rate)) / math.sqrt(20000)
    assert np.all(np.abs(Y.mean(axis=0) - pattern[0]) < 5 * std_error)


def test_same_seed_same_masks_on_every_backend(backend):
    A = np.ones((16, 7))
    layer = Dropout(0.5)
    reference = numpy_backend()
    expected = reference.to_numpy(layer.forward(reference.xp, reference.asarray(A),
                                                training=True, rng=reference.random(11))[0])
    rng = backend.random(11)
    for _ in range(2):  # and the next draw too
        Y = layer.forward(backend.xp, _dev(backend, A), training=True, rng=rng)[0]
        np.testing.assert_array_equal(backend.to_numpy(Y), expected)
        expected = reference.to_numpy(layer.forward(
            reference.xp, reference.asarray(A), training=True,
            rng=_advanced(reference, 11, A.shape))[0])


def _advanced(backend, seed, shape):
    """A stream of ``seed`` after one mask of ``shape``."""
    rng = backend.random(seed)
    rng.host_keep_mask(shape, 0.5)
    return rng


def test_same_seed_same_run_on_every_backend(backend):
    """A fit with Dropout follows the same masks on every backend: its weights match
    NumPy's (to rounding), and differ from a run without dropout."""
    def train(name):
        net = dropout_net(bpnn.get_backend(name))
        net.fit(X, T, epochs=3, batch_size=8, optimizer=bpnn.SGD(lr=0.05))
        return net.get_weights()

    mine, reference = train(backend.name), train("numpy")
    for a, b in zip(mine, reference):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    plain = bpnn.Network([bpnn.Dense(3, 8), bpnn.Activation("tanh"), bpnn.Dense(8, 1)],
                         backend="numpy", seed=3)
    plain.fit(X, T, epochs=3, batch_size=8, optimizer=bpnn.SGD(lr=0.05))
    assert not np.allclose(plain.get_weights()[0], reference[0])


def test_predict_is_deterministic_and_training_is_not(backend):
    net = dropout_net(backend, rate=0.5).build()
    np.testing.assert_array_equal(backend.to_numpy(net.predict(X)),
                                  backend.to_numpy(net.predict(X)))
    first, _ = net.forward_train(X)
    second, _ = net.forward_train(X)
    assert not np.array_equal(backend.to_numpy(first), backend.to_numpy(second))
    state = net.rng.state
    net.evaluate(X, T)
    bpnn.gradient_norms(net, X, T)
    assert net.rng.state == state  # inference and diagnostics draw nothing


def test_saved_and_loaded_with_its_rate(backend, tmp_path):
    net = dropout_net(backend, rate=0.35)
    net.fit(X, T, epochs=1, batch_size=8)
    net.save(tmp_path / "m.bpnn")
    loaded = bpnn.load(tmp_path / "m.bpnn", backend=backend.name)
    assert isinstance(loaded.layers[2], Dropout) and loaded.layers[2].rate == 0.35
    np.testing.assert_array_equal(backend.to_numpy(loaded.predict(X)),
                                  backend.to_numpy(net.predict(X)))


class Interrupt(Exception):
    pass


def _run(backend, path, stop_at=None, resume=None):
    def on_epoch_begin(epoch, logs):
        if epoch == stop_at:
            raise Interrupt

    net = dropout_net(backend, rate=0.5)
    net.fit(X, T, epochs=4, batch_size=8, optimizer="adam", checkpoint=path, resume=resume,
            callbacks=[LambdaCallback(on_epoch_begin=on_epoch_begin)])
    return net


def test_checkpoint_resumes_the_masks_bit_for_bit(backend, tmp_path):
    straight = _run(backend, tmp_path / "a.ckpt")
    with pytest.raises(Interrupt):
        _run(backend, tmp_path / "b.ckpt", stop_at=2)
    resumed = _run(backend, tmp_path / "b.ckpt", resume=tmp_path / "b.ckpt")
    for a, b in zip(resumed.get_weights(), straight.get_weights()):
        if backend.name == "numpy":
            np.testing.assert_array_equal(a, b)
        else:
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_a_replayed_epoch_draws_the_same_masks(backend):
    """The divergence snapshot puts the stream back to just after the epoch's shuffle."""
    net = dropout_net(backend).build()
    optimizer = bpnn.SGD(lr=0.1)
    optimizer.follow(net.parameters)
    snapshot = Snapshot(net, optimizer)
    snapshot.take()
    net.rng.permutation(10)  # the epoch's shuffle
    snapshot.take_stream()
    first = net.rng.host_keep_mask((4, 4), 0.5)
    snapshot.restore()
    np.testing.assert_array_equal(net.rng.host_keep_mask((4, 4), 0.5), first)


def test_a_diverging_run_with_dropout_names_the_step(backend):
    """A diverging run with Dropout is replayed step by step (its stream put back) to the
    failing step."""
    net = dropout_net(backend)
    with pytest.raises(bpnn.DivergenceError) as error:
        net.fit(X * 1e3, T * 1e3, epochs=2, batch_size=8, optimizer=bpnn.SGD(lr=1e110))
    assert error.value.epoch == 0 and error.value.step is not None


def test_lbfgs_refuses_a_random_loss(backend):
    net = dropout_net(backend).build()
    A, B = net._data(X, T)
    with pytest.raises(InputError, match="Dropout draws a new mask"):
        lbfgs(net, A, B)


def test_ranks_draw_the_global_batch_mask_and_keep_their_rows(backend):
    """Distributed: a rank's mask is its rows of the mask one process draws for the whole
    global batch, and every rank's stream advances alike."""
    whole = backend.random(5).host_keep_mask((10, 4), 0.5)
    rng = backend.random(5)
    piece = GlobalRows(rng, 3, 10).keep_mask((4, 4), 0.5)
    np.testing.assert_array_equal(backend.to_numpy(piece), whole[3:7])
    assert rng.state == _advanced_state(backend, 5, (10, 4))


def _advanced_state(backend, seed, shape):
    return _advanced(backend, seed, shape).state


def test_scikit_learn_stream_draws_masks(backend):
    """A network seeded with a RandomState (the estimators' stream) draws from it."""
    state = np.random.RandomState(0)
    net = bpnn.Network([bpnn.Dense(3, 4), Dropout(0.5), bpnn.Dense(4, 1)],
                       backend=backend.name, seed=state)
    net.fit(X, T, epochs=1, batch_size=40)
    again = bpnn.Network([bpnn.Dense(3, 4), Dropout(0.5), bpnn.Dense(4, 1)],
                         backend="numpy", seed=np.random.RandomState(0))
    again.fit(X, T, epochs=1, batch_size=40)
    np.testing.assert_allclose(net.get_weights()[0], again.get_weights()[0], rtol=1e-9)
