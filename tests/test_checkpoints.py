"""Checkpoints: an interrupted run resumed from its checkpoint ends where the
uninterrupted run ends (bit for bit on NumPy, array-api-strict and JAX, to rounding on
the other backends), with every piece of state, on every backend."""

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
# A resumed run repeats the same operations on the same backend: bit for bit on NumPy,
# array-api-strict and JAX on the CPU; to float64 rounding elsewhere (PyTorch, and CuPy,
# which may run on a GPU whose kernels need not be deterministic).
EXACT = ("numpy", "array_api_strict", "jax")
TOL = 1e-12


class Interrupt(Exception):
    pass


def interrupter(at_epoch):
    """Stands in for a crash: raises at the start of ``at_epoch``."""
    def on_epoch_begin(epoch, logs):
        if epoch == at_epoch:
            raise Interrupt
    return LambdaCallback(on_epoch_begin=on_epoch_begin)


def assert_same_weights(backend, a, b):
    """Bit for bit on the backends of ``EXACT``; to float64 rounding on the others."""
    for u, v in zip(a.get_weights(), b.get_weights()):
        if backend.name in EXACT:
            np.testing.assert_array_equal(u, v)
        else:
            np.testing.assert_allclose(u, v, rtol=TOL, atol=TOL)


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
    exact = backend.name in EXACT
    assert_same_weights(backend, net, straight)
    assert history.epoch == straight_history.epoch == list(range(EPOCHS))
    if exact:
        assert history.history == straight_history.history
        assert (tmp_path / "log.csv").read_text() == straight_log
    else:
        assert history["loss"] == pytest.approx(straight_history["loss"], rel=TOL)
    # the plateau cut the rate every other epoch; the resumed run kept counting
    assert history["lr"] == straight_history["lr"] and callbacks[1].cuts == \
        straight_callbacks[1].cuts
    assert callbacks[0].best_epoch == straight_callbacks[0].best_epoch


def test_every_epoch_of_a_run_resumes(backend, tmp_path, uninterrupted):
    """Bit for bit on NumPy, to rounding elsewhere, whichever epoch the crash came at."""
    straight = uninterrupted[0]
    # JAX compiles each network's step anew (seconds a run): there the even epochs, which
    # with test_resumed_run_equals_the_uninterrupted_one's 1, 3 and 7 make every epoch
    crashes = range(2, EPOCHS, 2) if backend.name == "jax" else range(1, EPOCHS)
    for crash_at in crashes:
        folder = tmp_path / f"crash{crash_at}"
        folder.mkdir()
        with pytest.raises(Interrupt):
            run(backend, folder, stop_at=crash_at)
        net, _, _ = run(backend, folder, resume=folder / "run.ckpt")
        assert_same_weights(backend, net, straight)


def test_sgd_momentum_state_is_kept(backend, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    straight, *_ = run(backend, tmp_path / "a", optimizer=bpnn.SGD(lr=0.05, momentum=0.9,
                                                                     nesterov=True))
    with pytest.raises(Interrupt):
        run(backend, tmp_path / "b", stop_at=4, optimizer=bpnn.SGD(lr=0.05, momentum=0.9,
                                                                    nesterov=True))
    net, _, _ = run(backend, tmp_path / "b", resume=True,
                    optimizer=bpnn.SGD(lr=0.05, momentum=0.9, nesterov=True))
    assert_same_weights(backend, net, straight)


def test_a_checkpoint_is_also_a_model_file(backend, tmp_path):
    net, _, _ = run(backend, tmp_path)
    loaded = bpnn.load(tmp_path / "run.ckpt", backend=backend.name)
    assert loaded.backend.name == backend.name
    # the checkpoint was written after the last epoch, before early stopping put the best
    # epoch's weights back; it holds the last epoch's weights
    assert loaded.count_params() == net.count_params()


def test_checkpoint_every_n_epochs(backend, tmp_path):
    written = []
    net = bpnn.mlp([3, 4, 1], backend=backend.name, seed=0)

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


def test_resume_true_starts_afresh_without_a_file(backend, tmp_path):
    net = bpnn.mlp([3, 4, 1], backend=backend.name, seed=0)
    history = net.fit(X, T, epochs=2, checkpoint=tmp_path / "c.ckpt", resume=True)
    assert history.epoch == [0, 1]
    more = bpnn.mlp([3, 4, 1], backend=backend.name, seed=0)
    history = more.fit(X, T, epochs=4, checkpoint=tmp_path / "c.ckpt", resume=True)
    assert history.epoch == [0, 1, 2, 3]


@pytest.mark.parametrize(("change", "message"), [
    ({"batch_size": 5}, "batch_size=10; this fit has batch_size=5"),
    ({"X": X[:40], "T": T[:40]}, "samples=48; this fit has samples=40"),
    ({"optimizer": "sgd"}, "trained with the optimizer 'adam'; this fit uses 'sgd'"),
    ({"sizes": [3, 9, 1]}, "checkpoint of another network"),
    ({"callbacks": []}, r"written with the callbacks \['EarlyStopping'\]; this fit has \[\]"),
])
def test_resuming_another_run_is_refused(backend, tmp_path, change, message):
    net = bpnn.mlp([3, 4, 1], backend=backend.name, seed=0)
    net.fit(X, T, epochs=2, batch_size=10, optimizer="adam", checkpoint=tmp_path / "c.ckpt",
            callbacks=[EarlyStopping(monitor="loss")])
    other = bpnn.mlp(change.get("sizes", [3, 4, 1]), backend=backend.name, seed=0)
    with pytest.raises(ValueError, match=message):
        other.fit(change.get("X", X), change.get("T", T), epochs=4,
                  batch_size=change.get("batch_size", 10),
                  optimizer=change.get("optimizer", "adam"),
                  callbacks=change.get("callbacks", [EarlyStopping(monitor="loss")]),
                  resume=tmp_path / "c.ckpt")


def test_a_stopped_run_stays_stopped(backend, tmp_path):
    scores = [3.0, 2.0, 2.5, 2.6, 2.7, 1.0, 0.5]
    marker = LambdaCallback(on_epoch_end=lambda epoch, logs: logs.__setitem__(
        "metric", scores[epoch]))

    def fit(resume=None):
        net = bpnn.mlp([3, 4, 1], backend=backend.name, seed=0)
        stop = EarlyStopping(monitor="metric", patience=2)
        history = net.fit(X, T, epochs=7, callbacks=[marker, stop],
                          checkpoint=tmp_path / "c.ckpt", resume=resume)
        return net, history, stop

    net, history, stop = fit()
    assert stop.stopped_epoch == 3 and history.epoch == [0, 1, 2, 3]
    again, history, _ = fit(resume=tmp_path / "c.ckpt")
    assert history.epoch == [0, 1, 2, 3]
    assert_same_weights(backend, again, bpnn.load(tmp_path / "c.ckpt", backend=backend.name))


def test_a_missing_checkpoint_folder_is_refused_before_training(backend, tmp_path):
    net = bpnn.mlp([3, 4, 1], backend=backend.name, seed=0)
    with pytest.raises(ValueError, match="does not exist"):
        net.fit(X, T, epochs=2, checkpoint=tmp_path / "no" / "c.ckpt")
    assert not net.built or net.history is None


# -- the optimizer's state, stored by name ------------------------------------------------
class NamedMomentum(bpnn.SGD):
    """SGD with momentum whose state has names, and one array of a shape of its own (a
    running count of the steps, kept as a (1, 2) array)."""

    name = "named_momentum"

    def __init__(self, lr=0.05, momentum=0.9, nesterov=False):
        super().__init__(lr, momentum, nesterov)
        self.count = None

    def apply(self, xp, params, grads, numbers):
        super().apply(xp, params, grads, numbers)
        if self.count is None:
            self.count = xp.zeros((1, 2), dtype=params[0].dtype)
        self.count = self.count + 1.0

    def reset(self):
        super().reset()
        self.count = None

    def state_arrays(self):
        return [*super().state_arrays(), *([] if self.count is None else [self.count])]

    def state_names(self):
        velocities = [f"velocity.{index}" for index in range(len(self.velocities or []))]
        return [*velocities, *([] if self.count is None else ["count"])]

    def _load(self, scalars, arrays):
        if arrays and tuple(arrays[-1].shape) != (1, 2):
            raise ValueError(f"count must have shape (1, 2), got {tuple(arrays[-1].shape)}")
        self.velocities = arrays[:-1] or None
        self.count = arrays[-1] if arrays else None


@pytest.fixture
def named_momentum():
    bpnn.optimizers.register_optimizer(NamedMomentum)
    yield NamedMomentum
    del bpnn.optimizers.OPTIMIZERS["named_momentum"]


def named_run(backend, path, stop_at=None, resume=None):
    net = bpnn.mlp([3, 4, 1], activation="tanh", backend=backend.name, seed=2)
    net.fit(X, T, epochs=4, batch_size=10, optimizer="named_momentum", checkpoint=path,
            resume=resume, callbacks=[interrupter(stop_at)])
    return net


def test_named_state_of_any_shape_resumes(backend, tmp_path, named_momentum):
    from bpnn.files.container import read

    straight = named_run(backend, tmp_path / "a.ckpt")
    with pytest.raises(Interrupt):
        named_run(backend, tmp_path / "b.ckpt", stop_at=2)
    content, arrays = read(tmp_path / "b.ckpt", "checkpoint")
    names = content["training"]["optimizer"]["arrays"]
    assert names == ["velocity.0", "velocity.1", "velocity.2", "velocity.3", "count"]
    assert arrays["optimizer.count"].tolist() == [[10.0, 10.0]]  # 2 epochs of 5 steps
    resumed = named_run(backend, tmp_path / "b.ckpt", resume=tmp_path / "b.ckpt")
    assert_same_weights(backend, resumed, straight)
    assert resumed.optimizer.count.shape == (1, 2)


def _resealed(path, change):
    """``change(content, arrays)`` applied to the file, its checksum made valid again."""
    from test_hostile_fields import rewrite

    rewrite(path, change)


@pytest.mark.parametrize(("change", "message"), [
    (lambda c, a: c["training"]["optimizer"].update(arrays=["../x"]),
     r"training.optimizer.arrays\[0\] must be a short name"),
    (lambda c, a: c["training"]["optimizer"].update(arrays=["nope"]),
     "optimizer.nope is missing"),
    (lambda c, a: c["training"]["optimizer"].update(arrays=["count", "count"]),
     "names an array twice"),
    (lambda c, a: c["training"]["optimizer"].update(arrays="count"),
     "training.optimizer.arrays must be a list"),
    (lambda c, a: a.update({"optimizer.extra": np.zeros(2)}), "does not describe"),
    (lambda c, a: a.update({"optimizer.count": np.zeros((3,))}), "count must have shape"),
])
def test_bad_named_state_is_refused(backend, tmp_path, named_momentum, change, message):
    from bpnn import ModelFileError

    with pytest.raises(Interrupt):
        named_run(backend, tmp_path / "b.ckpt", stop_at=2)
    _resealed(tmp_path / "b.ckpt", change)
    with pytest.raises(ModelFileError, match=message):
        named_run(backend, tmp_path / "c.ckpt", resume=tmp_path / "b.ckpt")


def test_a_checkpoint_without_the_names_list_loads_as_before(backend, tmp_path):
    """Checkpoints written before the list (and before optimizers named their arrays)
    hold ``optimizer.0, 1, ...`` in ``state_arrays`` order: they resume the same run."""
    folder = tmp_path / "old"
    folder.mkdir()
    with pytest.raises(Interrupt):
        run(backend, folder, epochs=4, stop_at=2)
    from bpnn.files.container import read

    content, arrays = read(folder / "run.ckpt", "checkpoint")
    names = [f"{moment}.{i}" for i in range(6) for moment in "mv"]  # Adam's, 6 parameters
    assert content["training"]["optimizer"]["arrays"] == names

    def renumber(content, arrays):
        for index, name in enumerate(content["training"]["optimizer"].pop("arrays")):
            arrays[f"optimizer.{index}"] = arrays.pop(f"optimizer.{name}")

    _resealed(folder / "run.ckpt", renumber)
    net, _, _ = run(backend, folder, epochs=4, resume=folder / "run.ckpt")
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    with pytest.raises(Interrupt):
        run(backend, fresh, epochs=4, stop_at=2)
    again, _, _ = run(backend, fresh, epochs=4, resume=fresh / "run.ckpt")
    for a, b in zip(net.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)
