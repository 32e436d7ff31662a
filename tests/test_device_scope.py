"""A model on a second GPU stays there: every public call runs with the backend's device
current (:meth:`bpnn.backends.Backend.scope`).

CuPy's creation functions, as array-api-compat wraps them, ignore ``device=`` and make
their arrays on the *current* device.  A network on ``"cupy:1"`` whose calls did not make
GPU 1 current would put its biases, RBF widths, copies, optimizer moments, preloaded data
and MPI gradient buffer on GPU 0, and the next operation mixing the two would fail.  Each
test here calls public entry points with the *other* GPU current (the ``gpus`` fixture),
checks that every array they made or returned lives on the model's GPU, and, when the
call is over, that the caller's device is current again.

It runs on CuPy with two devices (the CPU stand-in of ``tests/cupy_standin`` where there
is no GPU; the real CuPy on a machine with two GPUs) and on PyTorch with two CUDA devices,
and is skipped, with the reason, where the library has fewer than two.
"""

from __future__ import annotations

import csv
import importlib.util
import os
import warnings

import numpy as np
import pytest

import bpnn
from bpnn import SGD, Adam, EarlyStopping, LambdaCallback, demos, tabular
from bpnn.backends import BACKENDS, get_backend
from bpnn.data.epochs import ArrayEpochs, StreamEpochs, epochs_for
from bpnn.layers import Dense, Standardize
from bpnn.lbfgs import lbfgs
from helpers import host_random

#: Per library: the spec of the model's device (1) and of the caller's (0).
SPECS = {"cupy": ("cupy:1", "cupy:0"), "torch": ("torch:cuda:1", "torch:cuda:0")}

X = host_random(0, (40, 3), -1, 1)
T = np.column_stack([np.sin(2 * X[:, 0]), X[:, 1] * X[:, 2]])
LABELS = (X[:, 0] + X[:, 1] > 0).astype(np.int64)  # numbers: a device array of labels too


def device_index(array):
    """The device an array lives on, by number (CuPy's ``Device.id``, PyTorch's ``index``)."""
    device = array.device
    return device.id if hasattr(device, "id") else device.index


def _device_count(name):
    if name == "cupy":
        return get_backend("cupy")._cupy.cuda.runtime.getDeviceCount()
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


class Gpus:
    """The model's device (1) and the caller's (0) of one GPU library."""

    def __init__(self, name):
        self.name = name
        self.spec, caller = SPECS[name]
        self.backend = get_backend(self.spec)
        self.caller = get_backend(caller)
        self.index = 1

    def current(self):
        """The library's current device, by number."""
        if self.name == "cupy":
            return self.backend._cupy.cuda.runtime.getDevice()
        return self.backend._torch.cuda.current_device()

    def device(self, array):
        """``array`` as made by the caller: on the model's device, by the backend's asarray."""
        return self.backend.asarray(array)

    def assert_here(self, arrays, what):
        arrays = list(arrays)
        assert arrays, f"no {what} to check"
        for number, array in enumerate(arrays):
            assert self.backend.owns(array), f"{what} {number} is a {type(array).__name__}"
            where = device_index(array)
            assert where == self.index, \
                f"{what} {number} is on device {where}; the model is on device {self.index}"


def _selected(config, name):
    """Whether ``--backend`` (or ``BPNN_TEST_BACKENDS``) leaves library ``name`` in."""
    spec = config.getoption("--backend") or os.environ.get("BPNN_TEST_BACKENDS", "")
    names = {entry.strip().partition(":")[0] for entry in spec.split(",") if entry.strip()}
    return not names or name in names


@pytest.fixture(params=list(SPECS))
def gpus(request):
    """A library with two devices, the caller's (0) current during the test."""
    name = request.param
    if not _selected(request.config, name):
        pytest.skip(f"{name} is not among the backends selected (--backend)")
    available, reason = BACKENDS[name].availability()
    if not available:
        pytest.skip(reason)
    count = _device_count(name)
    if count < 2:
        pytest.skip(f"{name} sees {count} CUDA device(s): a model on a second device needs two")
    pair = Gpus(name)
    with pair.caller.device_current():
        assert pair.current() == 0
        yield pair
        assert pair.current() == 0, "a public call left another device current"


def regression_net(gpus, seed=0):
    """Every kind of array a network makes at build: a Standardize layer's buffers, an RBF
    layer's centres and widths (``xp.full``), Dense weights and biases (``xp.zeros``)."""
    mean, scale = X.mean(axis=0).tolist(), X.std(axis=0).tolist()
    body = bpnn.mlp([3, 6, 5, 2], activation=["rbf", "tanh"], seed=seed)
    return bpnn.Network([Standardize(3, mean, scale), *body.layers], backend=gpus.spec,
                        seed=seed)


def best_weights_seen(stopping):
    """A callback collecting ``stopping``'s copies of the best weights at each epoch end
    (it gives them back to the network when the fit ends)."""
    seen = []
    return seen, LambdaCallback(on_epoch_end=lambda epoch, logs: seen.extend(
        stopping.best_weights or []))


def assert_network_here(gpus, net):
    gpus.assert_here(net.parameters, "parameter")
    buffers = [buffer for layer in net.layers for buffer in layer.buffers]
    if buffers:
        gpus.assert_here(buffers, "buffer")


# -- the network -----------------------------------------------------------------------
def test_build_makes_every_array_on_the_model_device(gpus):
    net = regression_net(gpus).build()
    assert net.backend is gpus.backend
    assert_network_here(gpus, net)


def test_forward_backward_evaluate_and_the_weights(gpus):
    net = regression_net(gpus)
    gpus.assert_here([net.forward(X), net.predict(gpus.device(X))], "output")
    loss, grads = net.backward(X, T, l2=0.1)
    gpus.assert_here(grads, "gradient")
    assert np.isfinite(loss) and np.isfinite(net.evaluate(X, T, l2=0.1))
    Y, backprop = net.forward_train(X)
    dX, grads = backprop(gpus.device(np.ones((len(X), 2))))
    gpus.assert_here([Y, dX, *grads], "forward_train array")
    saved = net.copy_parameters()
    gpus.assert_here(saved, "copy")
    net.set_weights(net.get_weights())
    net.restore_parameters(saved)
    assert_network_here(gpus, net)


def test_a_model_on_device_0_while_the_caller_has_device_1_current(gpus):
    """The scope makes the backend's device current, not merely "not device 0"."""
    net = bpnn.mlp([3, 6, 2], activation="relu", backend=gpus.caller, seed=0)
    with gpus.backend.device_current():
        net.fit(X, T, epochs=2, batch_size=8, optimizer="adam")
        arrays = [*net.parameters, *net.optimizer.state_arrays(), net.forward(X)]
        assert gpus.current() == 1
    assert [device_index(array) for array in arrays] == [0] * len(arrays)


# -- training --------------------------------------------------------------------------
@pytest.mark.parametrize("optimizer", [SGD(lr=0.05, momentum=0.9), Adam(lr=0.01)],
                         ids=["momentum", "adam"])
def test_fit_on_arrays(gpus, optimizer):
    net = regression_net(gpus)
    w = np.linspace(0.5, 1.5, len(X))
    stopping = EarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True)
    best, recorder = best_weights_seen(stopping)
    history = net.fit(X, T, epochs=3, batch_size=8, optimizer=optimizer, l2=0.01,
                      sample_weight=w, validation_data=(X[:10], T[:10], w[:10]),
                      callbacks=[stopping, recorder])
    assert len(history["val_loss"]) == 3
    assert_network_here(gpus, net)
    gpus.assert_here(optimizer.state_arrays(), "optimizer state")
    gpus.assert_here(best, "best weights")


def test_a_diverged_epoch_is_replayed_on_the_model_device(gpus):
    # online SGD at lr 1 multiplies the error by 15 per step: inf within the epoch, then
    # the snapshot, the replay and the retry at lr 0.1 (see tests/test_divergence.py)
    Xc = np.full((400, 1), np.sqrt(15.0))
    net = bpnn.Network([Dense(1, 1)], backend=gpus.spec, seed=0)
    net.fit(Xc, 0.5 * Xc + 0.25, epochs=1, batch_size=1, shuffle=False,
            optimizer=SGD(lr=1.0, momentum=0.0), on_divergence="reduce_lr")
    assert [d["new_lr"] for d in net.divergences] == [0.1]
    assert_network_here(gpus, net)


@pytest.mark.parametrize("memory_budget", [None, 0], ids=["preloaded", "streamed"])
def test_fit_from_npy_files(gpus, tmp_path, memory_budget):
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "T.npy", T)
    files = str(tmp_path / "X.npy"), str(tmp_path / "T.npy")
    probe = regression_net(gpus)
    data = epochs_for(probe, *files, 8, memory_budget)
    try:
        if memory_budget is None:  # a GPU with room: the rows are moved there once
            assert isinstance(data, ArrayEpochs)
            gpus.assert_here(data.arrays, "preloaded array")
        else:
            assert isinstance(data, StreamEpochs)
        with gpus.backend.scope():  # as fit takes them
            gpus.assert_here(next(data.epoch(shuffle=True)()), "batch")
    finally:
        data.close()
    net = regression_net(gpus)
    optimizer = Adam(lr=0.01)
    net.fit(*files, epochs=2, batch_size=8, optimizer=optimizer, memory_budget=memory_budget)
    assert_network_here(gpus, net)
    gpus.assert_here(optimizer.state_arrays(), "optimizer state")


def test_fit_on_a_batch_iterator(gpus):
    def batches():
        return iter([(X[:20], T[:20]), (X[20:], T[20:])])

    net = regression_net(gpus)
    net.fit(batches, None, epochs=2, optimizer=Adam(lr=0.01))
    assert_network_here(gpus, net)
    gpus.assert_here(net.optimizer.state_arrays(), "optimizer state")


def test_checkpoint_and_resume(gpus, tmp_path):
    checkpoint = tmp_path / "run.ckpt"
    stopping = EarlyStopping(monitor="loss", patience=5, restore_best_weights=True)
    regression_net(gpus).fit(X, T, epochs=1, batch_size=8, optimizer=Adam(lr=0.01),
                             checkpoint=checkpoint,
                             callbacks=[stopping, best_weights_seen(stopping)[1]])
    net, optimizer = regression_net(gpus), Adam(lr=0.01)
    stopping = EarlyStopping(monitor="loss", patience=5, restore_best_weights=True)
    best, recorder = best_weights_seen(stopping)
    history = net.fit(X, T, epochs=2, batch_size=8, optimizer=optimizer, checkpoint=checkpoint,
                      resume=True, callbacks=[stopping, recorder])
    assert len(history["loss"]) == 2
    assert_network_here(gpus, net)
    gpus.assert_here(optimizer.state_arrays(), "optimizer state")
    gpus.assert_here(best, "best weights")  # restored from the checkpoint, then kept


def test_save_and_load(gpus, tmp_path):
    net = regression_net(gpus)
    net.fit(X, T, epochs=1, batch_size=8)
    net.save(tmp_path / "model.bpnn")
    loaded = bpnn.load(tmp_path / "model.bpnn", backend=gpus.spec)
    assert_network_here(gpus, loaded)
    for a, b in zip(loaded.get_weights(), net.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert loaded.evaluate(X, T) == net.evaluate(X, T)


def test_lbfgs(gpus):
    net = regression_net(gpus).build()
    Xd, Td = gpus.device(X), gpus.device(T)  # validated device arrays, as lbfgs takes them
    result = lbfgs(net, Xd, Td, l2=0.01, max_iter=5)
    assert np.isfinite(result.loss) and result.n_iter >= 1
    assert_network_here(gpus, net)


def test_distributed_fit_and_lbfgs_keep_the_gradient_buffer_there(gpus):
    """One MPI rank: the flat gradient buffer (made with ``xp.empty(device=...)``) and the
    broadcast weights are on the model's device."""
    from bpnn.distributed import Distributed

    try:
        ranks = Distributed()  # this process alone: one rank
    except ImportError as error:  # no mpi4py, or no MPI library under it
        pytest.skip(str(error))
    net = regression_net(gpus)
    net.fit(X, T, epochs=2, batch_size=8, optimizer=Adam(lr=0.01), distributed=ranks)
    gpus.assert_here([ranks._flat], "gradient buffer")
    assert_network_here(gpus, net)
    ranks._flat = None
    lbfgs(net, gpus.device(X), gpus.device(T), max_iter=3, distributed=ranks)
    gpus.assert_here([ranks._flat], "gradient buffer")
    assert_network_here(gpus, net)


# -- the estimators ----------------------------------------------------------------------
@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_regressor(gpus, tmp_path, solver):
    y = T[:, 0]
    model = bpnn.MLPRegressor(hidden_layer_sizes=(6, 5), activation=["rbf", "relu"],
                              solver=solver, backend=gpus.spec, max_iter=4, random_state=0,
                              early_stopping=solver != "lbfgs", validation_fraction=0.25)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # too few iterations to converge
        model.fit(X, y)
        if solver != "lbfgs":
            model.set_params(early_stopping=False).partial_fit(X, y)
            gpus.assert_here(model._optimizer.state_arrays(), "optimizer state")
    gpus.assert_here(model.coefs_ + model.intercepts_, "coefficient")
    host = model.predict(X)
    assert isinstance(host, np.ndarray)
    on_device = model.predict(gpus.device(X))
    gpus.assert_here([on_device], "prediction")
    assert np.isfinite(model.score(X, y)) and np.isfinite(model.score(gpus.device(X),
                                                                      gpus.device(y)))
    model.save(tmp_path / "regressor.bpnn")
    loaded = bpnn.MLPRegressor.load(tmp_path / "regressor.bpnn", backend=gpus.spec)
    gpus.assert_here(loaded.coefs_ + loaded.intercepts_, "loaded coefficient")
    np.testing.assert_array_equal(loaded.predict(X), host)


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_classifier(gpus, solver):
    model = bpnn.MLPClassifier(hidden_layer_sizes=(6,), solver=solver, backend=gpus.spec,
                               max_iter=4, random_state=0, early_stopping=solver == "adam",
                               validation_fraction=0.25)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, LABELS)
    gpus.assert_here(model.coefs_ + model.intercepts_, "coefficient")
    Xd = gpus.device(X)
    gpus.assert_here([model.predict_proba(Xd), model.predict_log_proba(Xd),
                      model.predict(Xd)], "result")
    assert set(model.predict(X).tolist()) <= {0, 1}
    assert 0.0 <= model.score(X, LABELS) <= 1.0
    assert 0.0 <= model.score(Xd, gpus.device(LABELS)) <= 1.0


# -- around the network ------------------------------------------------------------------
def test_diagnostics_demos_and_plots(gpus, tmp_path):
    net = bpnn.mlp([2, 5, 5, 2], activation="sigmoid", loss="cross_entropy",
                   backend=gpus.spec, seed=0)
    Xc, Tc = bpnn.datasets.sin_classification()
    norms = bpnn.gradient_norms(net, Xc, Tc)
    assert len(norms.error) == 3 and np.isfinite(norms.loss)
    assert 0.0 <= demos.accuracy(net, Xc, Tc) <= 1.0
    if importlib.util.find_spec("matplotlib") is None:
        return
    bpnn.plot.decision_regions(net, Xc, Tc, resolution=20, path=tmp_path / "regions.png")
    line = bpnn.mlp([1, 3, 1], backend=gpus.spec, seed=0)
    Xs, Ts = bpnn.datasets.sin_regression()
    bpnn.plot.regression_fit(line, Xs, Ts, n_points=20, path=tmp_path / "fit.png")
    assert_network_here(gpus, line)


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_command_line_train_predict_evaluate(gpus, tmp_path, capsys, task):
    from bpnn.cli import main

    table = tmp_path / "table.csv"
    targets = np.where(LABELS == 1, "high", "low") if task == "classification" else T[:, 0]
    with open(table, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["a", "b", "c", "y"])
        writer.writerows([[*row, target] for row, target in zip(X.tolist(), targets.tolist())])
    model = tmp_path / "model.bpnn"
    assert main(["train", str(table), "--target", "y", "--task", task, "--epochs", "2",
                 "--backend", gpus.spec, "--out", str(model), "--quiet"]) == 0
    assert main(["evaluate", str(model), str(table), "--backend", gpus.spec]) == 0
    assert main(["predict", str(model), str(table), "--backend", gpus.spec]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-len(X) - 1].split(",")[0] == "y"
    loaded = tabular.TabularModel.load(model, backend=gpus.spec)
    assert_network_here(gpus, loaded.network)
