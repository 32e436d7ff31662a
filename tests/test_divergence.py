"""Divergence: found at the step it appears, the last finite weights kept, no
warning on the way, no diverged checkpoint, and an optional retry at a lower rate."""

from __future__ import annotations

import numpy as np
import pytest

import bpnn
from bpnn import SGD, DivergenceError
from helpers import host_random

X = host_random(0, (20, 2), -1, 1)
T = np.sin(X[:, :1] * 2)
BAD_ROW = 13


def net_on(backend):
    return bpnn.mlp([2, 4, 1], activation="tanh", backend=backend.name, seed=1)


def test_a_non_finite_loss_is_found_at_its_step(backend):
    Tbad = T.copy()
    Tbad[BAD_ROW] = 1e300  # (y - t)² overflows: the loss of that one step is inf
    net = net_on(backend)
    with pytest.raises(DivergenceError, match=f"epoch 0, step {BAD_ROW}: the loss became inf"
                       ) as caught:
        net.fit(X, Tbad, epochs=3, batch_size=1, shuffle=False, optimizer=SGD(lr=0.1))
    assert (caught.value.epoch, caught.value.step) == (0, BAD_ROW)
    # scikit-learn's users catch ValueError; callers before caught FloatingPointError
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, FloatingPointError)
    # the weights are exactly those after the 13 good steps before it
    reference = net_on(backend)
    reference.fit(X[:BAD_ROW], T[:BAD_ROW], epochs=1, batch_size=1, shuffle=False,
                  optimizer=SGD(lr=0.1))
    for a, b in zip(net.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_a_non_finite_weight_is_found_at_its_step(backend):
    # A linear model; row 0 is x = [1e100, 0]: its loss (about 1e197) is finite, but the
    # update lr * x * (y - t) = 1e110 * 1e100 * 1e99 is not.
    Xbig = X.copy()
    Xbig[0] = [1e100, 0.0]
    net = bpnn.Network([bpnn.Dense(2, 1)], backend=backend.name, seed=1)
    net.build()
    before = net.get_weights()
    with pytest.raises(DivergenceError, match="epoch 0, step 0: the update made a weight NaN "
                                              "or infinite") as caught:
        net.fit(Xbig, T, epochs=2, batch_size=1, shuffle=False, optimizer=SGD(lr=1e110))
    assert caught.value.step == 0
    for a, b in zip(net.get_weights(), before):  # the weights from before that step
        np.testing.assert_array_equal(a, b)


def test_no_checkpoint_is_written_from_a_diverged_state(tmp_path):
    numpy = bpnn.get_backend("numpy")
    net = net_on(numpy)
    Tbad = T.copy()
    Tbad[BAD_ROW] = 1e300
    # two good epochs, checkpointed; then a run on targets with a bad row, checkpointing
    # to the same file (a resume on other data is refused: see test_hostile_fields.py)
    net.fit(X, T, epochs=2, batch_size=1, shuffle=False, checkpoint=tmp_path / "c.ckpt")
    good = bpnn.load(tmp_path / "c.ckpt").get_weights()
    with pytest.raises(DivergenceError):
        net.fit(X, Tbad, epochs=4, batch_size=1, shuffle=False,
                checkpoint=tmp_path / "c.ckpt")
    for a, b in zip(bpnn.load(tmp_path / "c.ckpt").get_weights(), good):
        np.testing.assert_array_equal(a, b)


def test_reduce_lr_retries_the_epoch_at_a_lower_rate(backend):
    # y = x w + b with x = sqrt(15) on every row: online SGD multiplies the error by
    # |1 - lr (x² + 1)| per step: 15 at lr 1 (inf within the 400-step epoch), 0.6 at lr 0.1.
    Xc = np.full((400, 1), np.sqrt(15.0))
    net = bpnn.Network([bpnn.Dense(1, 1)], backend=backend.name, seed=0)
    history = net.fit(Xc, 0.5 * Xc + 0.25, epochs=2, batch_size=1, shuffle=False,
                      optimizer=SGD(lr=1.0), on_divergence="reduce_lr")
    assert [(d["epoch"], d["lr"], d["new_lr"]) for d in net.divergences] == [(0, 1.0, 0.1)]
    assert history["lr"] == [0.1, 0.1]
    assert history["loss"][-1] < 1e-20
    assert backend.to_numpy(net.predict(Xc[:1]))[0, 0] == pytest.approx(0.5 * Xc[0, 0] + 0.25)


def test_reduce_lr_gives_up_after_five_cuts():
    Tbad = T.copy()
    Tbad[3] = 1e300  # diverges at any rate
    net = net_on(bpnn.get_backend("numpy"))
    with pytest.raises(DivergenceError, match="epoch 0, step 3: .*cut 5 times"):
        net.fit(X, Tbad, epochs=2, batch_size=1, shuffle=False, optimizer=SGD(lr=0.1),
                on_divergence="reduce_lr")
    assert [d["new_lr"] for d in net.divergences] == pytest.approx([1e-2, 1e-3, 1e-4, 1e-5,
                                                                     1e-6])


def test_bad_on_divergence_option():
    with pytest.raises(ValueError,
                       match="on_divergence must be 'raise', 'reduce_lr' or 'continue'"):
        net_on(bpnn.get_backend("numpy")).fit(X, T, on_divergence="ignore")


def test_continue_trains_on_through_a_divergence(backend):
    """on_divergence="continue" (scikit-learn's behaviour): no error, the epochs run on,
    the losses of the diverged epochs are not finite."""
    Tbad = T.copy()
    Tbad[BAD_ROW] = 1e300
    net = net_on(backend)
    history = net.fit(X, Tbad, epochs=3, batch_size=1, shuffle=False, optimizer=SGD(lr=0.1),
                      on_divergence="continue")
    assert len(history["loss"]) == 3 and not np.isfinite(history["loss"]).any()
    assert net.divergences == []
