"""Checkpoints: an interrupted run resumed from its checkpoint ends where the
uninterrupted run ends (bit for bit on NumPy), with every piece of state."""

from __future__ import annotations

import numpy as np
import pytest

import bpnn
from bpnn import CSVLogger, EarlyStopping, LambdaCallback, ReduceLROnPlateau
from helpers import host_random

X = host_random(0, (48, 3))
T = np.sin(X.sum(axis=1, keepdims=True)) + 0.1 * X[:, :1]
X_VAL, T_VAL = X[::5] + 0.05, T[::5]
EPOCHS = 8


class Interrupt(Exception):
    pass


def interrupter(at_epoch):
    """Stands in for a crash: raises at the start of ``at_epoch``."""
    def on_epoch_begin(epoch, logs):
        if epoch == at_epoch:
            raise Interrupt
    return LambdaCallback(on_epoch_begin=on_epoch_begin)


def run(backend, tmp_path, epochs=EPOCHS, resume=None, stop_at=None, optimizer="adam"):
    net = bpnn.mlp([3, 8, 8, 1], activation="tanh", backend=backend.name, seed=5)
    callbacks = [EarlyStopping(patience=50, restore_best_weights=True),
                 ReduceLROnPlateau(monitor="loss", patience=1, factor=0.5, min_delta=1e9),
                 CSVLogger(tmp_path / "log.csv"),
                 interrupter(stop_at)]
    history = net.fit(X, T, epochs=epochs, batch_size=10, optimizer=optimizer,
                      validation_data=(X_VAL, T_VAL), callbacks=callbacks,
                      checkpoint=tmp_path / "run.ckpt", resume=resume)
    return net, history, callbacks


@pytest.fixture
def uninterrupted(backend, tmp_path_factory):
    folder = tmp_path_factory.mktemp("straight")
    net, history, callbacks = run(backend, folder)
    return net, history, callbacks, (folder / "log.csv").read_text()


@pytest.mark.parametrize("crash_at", [1, 3, 7])
def test_resumed_run_equals_the_uninterrupted_one(backend, tmp_path, uninterrupted, crash_at):
    straight, straight_history, straight_callbacks, straight_log = uninterrupted
    with pytest.raises(Interrupt):
        run(backend, tmp_path, stop_at=crash_at)
    net, history, callbacks = run(backend, tmp_path, resume=tmp_path / "run.ckpt")
    exact = backend.name == "numpy"
    for a, b in zip(net.get_weights(), straight.get_weights()):
        if exact:
            np.testing.assert_array_equal(a, b)
        else:
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    assert history.epoch == straight_history.epoch == list(range(EPOCHS))
    if exact:
        assert history.history == straight_history.history
        assert (tmp_path / "log.csv").read_text() == straight_log
    else:
        assert history["loss"] == pytest.approx(straight_history["loss"], rel=1e-9)
    # the plateau cut the rate every other epoch; the resumed run kept counting
    assert history["lr"] == straight_history["lr"] and callbacks[1].cuts == \
        straight_callbacks[1].cuts
    assert callbacks[0].best_epoch == straight_callbacks[0].best_epoch


def test_every_epoch_of_a_numpy_run_resumes_bit_identically(tmp_path):
    numpy = bpnn.get_backend("numpy")
    (tmp_path / "straight").mkdir()
    straight, *_ = run(numpy, tmp_path / "straight")
    for crash_at in range(1, EPOCHS):
        folder = tmp_path / f"crash{crash_at}"
        folder.mkdir()
        with pytest.raises(Interrupt):
            run(numpy, folder, stop_at=crash_at)
        net, _, _ = run(numpy, folder, resume=folder / "run.ckpt")
        for a, b in zip(net.get_weights(), straight.get_weights()):
            np.testing.assert_array_equal(a, b)


def test_sgd_momentum_state_is_kept(tmp_path):
    numpy = bpnn.get_backend("numpy")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    straight, *_ = run(numpy, tmp_path / "a", optimizer=bpnn.SGD(lr=0.05, momentum=0.9,
                                                                   nesterov=True))
    with pytest.raises(Interrupt):
        run(numpy, tmp_path / "b", stop_at=4, optimizer=bpnn.SGD(lr=0.05, momentum=0.9,
                                                                  nesterov=True))
    net, _, _ = run(numpy, tmp_path / "b", resume=True,
                    optimizer=bpnn.SGD(lr=0.05, momentum=0.9, nesterov=True))
    for a, b in zip(net.get_weights(), straight.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_a_checkpoint_is_also_a_model_file(tmp_path):
    numpy = bpnn.get_backend("numpy")
    net, _, _ = run(numpy, tmp_path)
    loaded = bpnn.load(tmp_path / "run.ckpt")
    # the checkpoint was written after the last epoch, before early stopping put the best
    # epoch's weights back; it holds the last epoch's weights
    assert loaded.count_params() == net.count_params()


def test_checkpoint_every_n_epochs(tmp_path):
    written = []
    net = bpnn.mlp([3, 4, 1], backend="numpy", seed=0)

    def record(epoch, logs):
        path = tmp_path / "c.ckpt"
        written.append(path.exists() and path.stat().st_mtime_ns)

    net.fit(X, T, epochs=7, checkpoint=tmp_path / "c.ckpt", checkpoint_every=3,
            callbacks=[LambdaCallback(on_epoch_end=record)])
    from bpnn.files.container import read

    content, _ = read(tmp_path / "c.ckpt", "checkpoint")
    assert content["training"]["next_epoch"] == 7  # the last epoch is always saved
    # written after epochs 2 and 5 (and 6): the file appears after epoch 2
    assert written[:3] == [False, False, False] and all(written[3:])


def test_resume_true_starts_afresh_without_a_file(tmp_path):
    net = bpnn.mlp([3, 4, 1], backend="numpy", seed=0)
    history = net.fit(X, T, epochs=2, checkpoint=tmp_path / "c.ckpt", resume=True)
    assert history.epoch == [0, 1]
    more = bpnn.mlp([3, 4, 1], backend="numpy", seed=0)
    history = more.fit(X, T, epochs=4, checkpoint=tmp_path / "c.ckpt", resume=True)
    assert history.epoch == [0, 1, 2, 3]


@pytest.mark.parametrize(("change", "message"), [
    ({"batch_size": 5}, "batch_size=10; this fit has batch_size=5"),
    ({"X": X[:40], "T": T[:40]}, "samples=48; this fit has samples=40"),
    ({"optimizer": "sgd"}, "trained with the optimizer 'adam'; this fit uses 'sgd'"),
    ({"sizes": [3, 9, 1]}, "checkpoint of another network"),
    ({"callbacks": []}, r"written with the callbacks \['EarlyStopping'\]; this fit has \[\]"),
])
def test_resuming_another_run_is_refused(tmp_path, change, message):
    net = bpnn.mlp([3, 4, 1], backend="numpy", seed=0)
    net.fit(X, T, epochs=2, batch_size=10, optimizer="adam", checkpoint=tmp_path / "c.ckpt",
            callbacks=[EarlyStopping(monitor="loss")])
    other = bpnn.mlp(change.get("sizes", [3, 4, 1]), backend="numpy", seed=0)
    with pytest.raises(ValueError, match=message):
        other.fit(change.get("X", X), change.get("T", T), epochs=4,
                  batch_size=change.get("batch_size", 10),
                  optimizer=change.get("optimizer", "adam"),
                  callbacks=change.get("callbacks", [EarlyStopping(monitor="loss")]),
                  resume=tmp_path / "c.ckpt")


def test_a_stopped_run_stays_stopped(tmp_path):
    scores = [3.0, 2.0, 2.5, 2.6, 2.7, 1.0, 0.5]
    marker = LambdaCallback(on_epoch_end=lambda epoch, logs: logs.__setitem__(
        "metric", scores[epoch]))

    def fit(resume=None):
        net = bpnn.mlp([3, 4, 1], backend="numpy", seed=0)
        stop = EarlyStopping(monitor="metric", patience=2)
        history = net.fit(X, T, epochs=7, callbacks=[marker, stop],
                          checkpoint=tmp_path / "c.ckpt", resume=resume)
        return net, history, stop

    net, history, stop = fit()
    assert stop.stopped_epoch == 3 and history.epoch == [0, 1, 2, 3]
    again, history, _ = fit(resume=tmp_path / "c.ckpt")
    assert history.epoch == [0, 1, 2, 3]
    for a, b in zip(again.get_weights(), bpnn.load(tmp_path / "c.ckpt").get_weights()):
        np.testing.assert_array_equal(a, b)


def test_a_missing_checkpoint_folder_is_refused_before_training(tmp_path):
    net = bpnn.mlp([3, 4, 1], backend="numpy", seed=0)
    with pytest.raises(ValueError, match="does not exist"):
        net.fit(X, T, epochs=2, checkpoint=tmp_path / "no" / "c.ckpt")
    assert not net.built or net.history is None
