"""The callback protocol and the built-in callbacks: early stopping, CSV log,
learning-rate control, per-batch hooks, and what ``verbose`` shows."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

import bpnn
from bpnn import (
    CSVLogger,
    EarlyStopping,
    LambdaCallback,
    LearningRateScheduler,
    ReduceLROnPlateau,
)

from helpers import host_random

X = host_random(0, (40, 3))
T = np.sin(X.sum(axis=1, keepdims=True))
X_VAL = host_random(1, (15, 3))
T_VAL = np.sin(X_VAL.sum(axis=1, keepdims=True))


def make(backend, seed=0):
    return bpnn.mlp([3, 5, 1], activation="tanh", backend=backend.name, seed=seed)


def scripted(key, values):
    """A callback that logs ``values[epoch]`` as ``logs[key]`` (placed before the one tested)."""
    return LambdaCallback(on_epoch_end=lambda epoch, logs: logs.__setitem__(key, values[epoch]))


def weight_recorder(store):
    """A callback that keeps a host copy of the weights after every epoch."""
    def on_epoch_end(epoch, logs):
        store[epoch] = store["net"].get_weights()
    return LambdaCallback(on_epoch_end=on_epoch_end)


# -- early stopping -------------------------------------------------------------
SCORES = [5.0, 4.0, 3.0, 3.5, 3.6, 3.7, 3.8, 3.9, 4.0, 4.1]


def test_early_stopping_stops_at_the_right_epoch_and_restores_the_best(backend):
    net = make(backend)
    weights = {"net": net}
    stop = EarlyStopping(monitor="metric", patience=2, restore_best_weights=True)
    history = net.fit(X, T, epochs=10, optimizer=bpnn.SGD(lr=0.05),
                      callbacks=[scripted("metric", SCORES), weight_recorder(weights),
                                 stop])
    # best 3.0 at epoch 2; epochs 3 and 4 do not improve: patience 2 is spent after epoch 4
    assert stop.best == 3.0 and stop.best_epoch == 2 and stop.stopped_epoch == 4
    assert history.epoch == [0, 1, 2, 3, 4]
    assert history["metric"] == SCORES[:5]
    for restored, best in zip(net.get_weights(), weights[2]):
        np.testing.assert_array_equal(restored, best)
    assert not all(np.array_equal(a, b) for a, b in zip(weights[4], weights[2]))


def test_early_stopping_without_restore_keeps_the_last_weights(backend):
    net = make(backend)
    weights = {"net": net}
    stop = EarlyStopping(monitor="metric", patience=2)
    net.fit(X, T, epochs=10, callbacks=[scripted("metric", SCORES),
                                        weight_recorder(weights), stop])
    for now, last in zip(net.get_weights(), weights[4]):
        np.testing.assert_array_equal(now, last)


@pytest.mark.parametrize(("key", "options", "values", "stopped", "best_epoch"), [
    ("val_loss_like", {"patience": 0}, [3.0, 2.0, 2.5, 1.0], 2, 1),
    ("val_loss_like", {"patience": 1, "min_delta": 0.5}, [3.0, 2.8, 2.6, 1.0], 1, 0),
    ("val_loss_like", {"patience": 1, "mode": "max"}, [1.0, 2.0, 1.5, 3.0], 2, 1),
    ("val_score", {"patience": 1}, [1.0, 2.0, 1.5, 3.0], 2, 1),  # "score": auto is max
    ("val_loss_like", {"patience": 1}, [1.0, 2.0, 1.5, 3.0], 1, 0),  # auto is min
    ("val_loss_like", {"patience": 2, "baseline": 0.5}, [1.0, 0.9, 0.8, 0.7], 1, 1),
    ("val_loss_like", {"patience": 1, "start_from_epoch": 2}, [1.0, 0.5, 2.0, 3.0], 3, 2),
    ("val_loss_like", {"patience": 5}, [3.0, 2.0, 1.0, 0.5], None, 3),
])
def test_early_stopping_options(key, options, values, stopped, best_epoch):
    stop = EarlyStopping(monitor=key, **options)
    net = bpnn.mlp([3, 2, 1], backend="numpy", seed=0)
    history = net.fit(X, T, epochs=len(values), callbacks=[scripted(key, values), stop])
    assert stop.stopped_epoch == stopped
    assert stop.best_epoch == best_epoch
    assert len(history) == (len(values) if stopped is None else stopped + 1)


def test_restore_best_weights_on_real_validation_loss(backend):
    net = bpnn.mlp([3, 12, 1], activation="tanh", backend=backend.name, seed=1)
    stop = EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
    history = net.fit(X, T, epochs=60, batch_size=4, optimizer=bpnn.SGD(lr=0.5),
                      validation_data=(X_VAL, T_VAL), callbacks=[stop])
    val = history["val_loss"]
    assert stop.best == min(val) and stop.best_epoch == val.index(min(val))
    # the network ends on its best epoch's weights, whether or not it stopped early
    assert net.evaluate(X_VAL, T_VAL) == pytest.approx(min(val), rel=1e-5)
    if stop.stopped_epoch is not None:
        assert len(val) == stop.stopped_epoch + 1
        assert stop.stopped_epoch - stop.best_epoch == 3


def test_early_stopping_needs_validation_data_to_watch_val_loss():
    net = bpnn.mlp([3, 2, 1], backend="numpy", seed=0)
    with pytest.raises(ValueError, match="monitors 'val_loss' but fit has no validation_data"):
        net.fit(X, T, epochs=3, callbacks=[EarlyStopping()])


def test_monitoring_a_figure_nobody_logs_is_a_clear_error():
    net = bpnn.mlp([3, 2, 1], backend="numpy", seed=0)
    with pytest.raises(ValueError, match=r"monitors 'accuracy', which is not logged; "
                                         r"the logs hold \['loss', 'lr'\]"):
        net.fit(X, T, epochs=3, callbacks=[EarlyStopping(monitor="accuracy")])


@pytest.mark.parametrize(("options", "message"), [
    ({"mode": "lowest"}, "mode must be"),
    ({"patience": -1}, "patience must be a non-negative integer"),
    ({"min_delta": -0.1}, "min_delta"),
    ({"monitor": ""}, "monitor must be"),
])
def test_early_stopping_bad_options(options, message):
    with pytest.raises(ValueError, match=message):
        EarlyStopping(**options)


# -- CSV log --------------------------------------------------------------------
def test_csv_logger_writes_every_epoch_exactly(backend, tmp_path):
    path = tmp_path / "log.csv"
    net = make(backend)
    history = net.fit(X, T, epochs=4, validation_data=(X_VAL, T_VAL),
                      callbacks=[CSVLogger(path)])
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["epoch", "loss", "val_loss", "lr"]
    assert [int(row["epoch"]) for row in rows] == [0, 1, 2, 3]
    assert [float(row["loss"]) for row in rows] == history["loss"]  # repr: exact round trip
    assert [float(row["val_loss"]) for row in rows] == history["val_loss"]


def test_csv_logger_append_keeps_one_header(tmp_path):
    path = tmp_path / "log.csv"
    net = bpnn.mlp([3, 2, 1], backend="numpy", seed=0)
    net.fit(X, T, epochs=2, callbacks=[CSVLogger(path, separator=";")])
    net.fit(X, T, epochs=3, callbacks=[CSVLogger(path, separator=";", append=True)])
    lines = path.read_text().splitlines()
    assert lines[0] == "epoch;loss;lr" and len(lines) == 6
    assert [line.split(";")[0] for line in lines[1:]] == ["0", "1", "0", "1", "2"]


def test_csv_logger_refuses_a_missing_folder_before_training(tmp_path):
    net = bpnn.mlp([3, 2, 1], backend="numpy", seed=0)
    before = net.get_weights()
    with pytest.raises(ValueError, match="does not exist"):
        net.fit(X, T, epochs=2, callbacks=[CSVLogger(tmp_path / "nowhere" / "log.csv")])
    for a, b in zip(before, net.get_weights()):
        np.testing.assert_array_equal(a, b)


# -- learning rate --------------------------------------------------------------
def test_scheduler_sets_the_rate_each_epoch_and_the_step_uses_it(backend):
    net = make(backend)
    rates = [0.1, 0.0, 0.05]
    weights = {"net": net}
    history = net.fit(X, T, epochs=3, optimizer=bpnn.SGD(lr=1.0),
                      callbacks=[LearningRateScheduler(lambda epoch, lr: rates[epoch]),
                                 weight_recorder(weights)])
    assert history["lr"] == rates
    for a, b in zip(weights[0], weights[1]):  # lr 0 in epoch 1: nothing moves
        np.testing.assert_array_equal(a, b)
    assert not all(np.array_equal(a, b) for a, b in zip(weights[1], weights[2]))


def test_scheduler_receives_the_current_rate():
    seen = []

    def schedule(epoch, lr):
        seen.append(lr)
        return lr * 0.5

    net = bpnn.mlp([3, 2, 1], backend="numpy", seed=0)
    history = net.fit(X, T, epochs=3, optimizer=bpnn.SGD(lr=0.8),
                      callbacks=[LearningRateScheduler(schedule)])
    assert seen == [0.8, 0.4, 0.2] and history["lr"] == [0.4, 0.2, 0.1]


@pytest.mark.parametrize("bad", [math.nan, -0.1, "fast", math.inf])
def test_scheduler_refuses_a_bad_rate(bad):
    net = bpnn.mlp([3, 2, 1], backend="numpy", seed=0)
    with pytest.raises(ValueError, match="the schedule gave the learning rate"):
        net.fit(X, T, epochs=2, callbacks=[LearningRateScheduler(lambda epoch, lr: bad)])


def test_reduce_on_plateau_cuts_after_patience_with_cooldown_and_floor():
    values = [5.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0]
    cut = ReduceLROnPlateau(monitor="flat", factor=0.5, patience=2, cooldown=1, min_lr=0.3)
    net = bpnn.mlp([3, 2, 1], backend="numpy", seed=0)
    history = net.fit(X, T, epochs=len(values), optimizer=bpnn.SGD(lr=1.0),
                      callbacks=[scripted("flat", values), cut])
    # epochs 2, 3 without improvement -> cut after 3; cooldown epoch 4; 5, 6 -> cut after 6
    assert cut.cuts == [(3, 0.5), (6, 0.3)]
    assert history["lr"] == [1.0] * 4 + [0.5] * 3 + [0.3] * 2


def test_reduce_on_plateau_bad_factor():
    with pytest.raises(ValueError, match=r"factor must be in \(0, 1\)"):
        ReduceLROnPlateau(factor=1.5)


# -- per-batch hook -------------------------------------------------------------
def test_batch_hook_sees_every_step_and_the_running_loss(backend):
    calls = []
    net = make(backend)
    hook = LambdaCallback(on_batch_end=lambda batch, logs: calls.append(
        (batch, logs["size"], float(logs["loss"]))))
    history = net.fit(X, T, epochs=2, batch_size=16, callbacks=hook)  # a lone callback is fine
    assert [(batch, size) for batch, size, _ in calls] == [(0, 16), (1, 16), (2, 8)] * 2
    # the running loss after the last batch is the epoch's mean loss
    assert calls[2][2] == pytest.approx(history["loss"][0], rel=1e-6)
    assert calls[5][2] == pytest.approx(history["loss"][1], rel=1e-6)


def test_lambda_callback_refuses_non_callables():
    with pytest.raises(TypeError, match="on_epoch_end must be callable"):
        LambdaCallback(on_epoch_end="print")


def test_callbacks_get_the_run_settings():
    seen = {}
    probe = LambdaCallback(on_train_begin=lambda logs: seen.update(probe.params))
    net = bpnn.mlp([3, 2, 1], backend="numpy", seed=0)
    net.fit(X, T, epochs=3, batch_size=16, validation_data=(X_VAL, T_VAL), callbacks=[probe])
    assert seen == {"epochs": 3, "initial_epoch": 0, "steps": 3, "samples": 40, "batch_size": 16,
                    "validation": True, "verbose": 0}
    assert probe.model is net and isinstance(net.optimizer, bpnn.SGD)


# -- verbose --------------------------------------------------------------------
def test_verbose_0_shows_nothing(capsys):
    bpnn.mlp([3, 2, 1], backend="numpy", seed=0).fit(X, T, epochs=3, verbose=0)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_verbose_1_draws_a_progress_bar(capsys):
    net = bpnn.mlp([3, 2, 1], backend="numpy", seed=0)
    history = net.fit(X, T, epochs=3, batch_size=8, validation_data=(X_VAL, T_VAL), verbose=1)
    err = capsys.readouterr().err
    assert "epoch 3/3" in err and "100%" in err and "15/15" in err  # 3 epochs x 5 batches
    assert f"loss={history['loss'][-1]:.4g}" in err
    assert f"val_loss={history['val_loss'][-1]:.4g}" in err


def test_verbose_2_prints_one_line_per_epoch(capsys):
    net = bpnn.mlp([3, 2, 1], backend="numpy", seed=0)
    history = net.fit(X, T, epochs=3, validation_data=(X_VAL, T_VAL), verbose=2)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    for epoch, line in enumerate(lines):
        assert line.startswith(f"Epoch {epoch + 1}/3 - ")
        assert f"loss: {history['loss'][epoch]:.6g}" in line
        assert f"val_loss: {history['val_loss'][epoch]:.6g}" in line


@pytest.mark.parametrize("bad", [3, -1, 1.0, "yes"])
def test_bad_verbose_is_refused(bad):
    with pytest.raises(ValueError, match="verbose must be 0, 1 or 2"):
        bpnn.mlp([3, 2, 1], backend="numpy", seed=0).fit(X, T, verbose=bad)


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid:RuntimeWarning")
def test_progress_bar_is_closed_when_training_diverges(capsys):
    from tqdm import tqdm

    net = bpnn.mlp([3, 4, 1], activation="tanh", backend="numpy", seed=0)
    with pytest.raises(bpnn.DivergenceError):
        net.fit(X * 1e150, T * 1e150, epochs=3, batch_size=2, optimizer=bpnn.SGD(lr=10.0),
                verbose=1)
    assert not getattr(tqdm, "_instances", set())
