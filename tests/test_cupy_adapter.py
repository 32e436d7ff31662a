"""The CuPy adapter's own code: uploads through page-locked memory, the probe, the
rank's device.  Runs on the real CuPy with a GPU, else on the stand-in, whose model
turns a missing wait or a reused buffer into a failure (see ``tests/cupy_standin``)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import bpnn
import conftest
from bpnn.backends import BACKENDS, get_backend


@pytest.fixture
def cupy_backend():
    available, reason = BACKENDS["cupy"].availability()
    if not available:
        pytest.skip(reason)
    return get_backend("cupy")


def test_uploads_reuse_their_page_locked_buffers(cupy_backend):
    """Many uploads of changing sizes (each buffer of the ring used several times, grown
    when a batch outgrows it) arrive intact."""
    rng = np.random.default_rng(0)
    batches = [rng.normal(size=(rows, 3)) for rows in (5, 7, 7, 3, 300_000, 9, 9, 9, 2, 1)]
    uploaded = [cupy_backend.upload(batch, cupy_backend.xp.float32) for batch in batches]
    for host, device in zip(batches, uploaded):
        np.testing.assert_array_equal(cupy_backend.to_numpy(device), host.astype(np.float32))


def test_an_upload_after_freed_batches_does_not_overwrite_queued_work(cupy_backend):
    """The batch memory freed by one step is handed out again for the next upload; the
    copy into it must not overtake the step's kernels still reading it."""
    xp = cupy_backend.xp
    host = np.arange(4096.0).reshape(512, 8)
    results = []
    for step in range(6):
        X = cupy_backend.upload(host + step)
        results.append(xp.sum(X * 2.0))  # queued work reading X
        del X  # freed while that work may still be queued
    assert [float(r) for r in results] == [2.0 * float((host + step).sum()) for step in range(6)]


def test_a_streamed_fit_of_many_batches_equals_the_fit_from_memory(cupy_backend, tmp_path):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(700, 5)).astype(np.float32)
    T = np.sin(X[:, :2])
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "T.npy", T)

    def fit(X_data, T_data, **options):
        net = bpnn.mlp([5, 16, 2], activation="tanh", backend="cupy", seed=4)
        net.fit(X_data, T_data, epochs=3, batch_size=16, optimizer="adam", **options)
        return [cupy_backend.to_numpy(W) for W in net.parameters]

    in_memory = fit(X, T)
    streamed = fit(tmp_path / "X.npy", tmp_path / "T.npy", memory_budget=0)  # 44 batches
    for a, b in zip(in_memory, streamed):
        np.testing.assert_array_equal(a, b)


def test_preloading_in_several_chunks_equals_the_array(cupy_backend, tmp_path, monkeypatch):
    from bpnn.data import epochs

    rng = np.random.default_rng(2)
    X = rng.normal(size=(250, 3))
    T = X[:, :1] ** 2
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "T.npy", T)
    chunks = []
    preloaded = epochs.StreamEpochs.preloaded
    monkeypatch.setattr(epochs.StreamEpochs, "preloaded",
                        lambda self: chunks.append(1) or preloaded(self, chunk=64))
    net = bpnn.mlp([3, 4, 1], backend="cupy", seed=0)
    net.fit(tmp_path / "X.npy", tmp_path / "T.npy", epochs=2, batch_size=50)
    reference = bpnn.mlp([3, 4, 1], backend="cupy", seed=0)
    reference.fit(X, T, epochs=2, batch_size=50)
    assert chunks == [1]  # it did preload (in 4 chunks of 64 rows)
    for a, b in zip(net.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.fixture
def standin():
    if conftest.CUPY_KIND != "standin":
        pytest.skip("contexts are counted by the stand-in only")
    return sys.modules["cupy"]


def test_asking_whether_cupy_runs_creates_no_context(standin, monkeypatch):
    """"auto" in every process (each MPI rank) must not take memory on GPU 0."""
    monkeypatch.setattr(BACKENDS["cupy"], "_probed", None)
    standin.gpu.contexts.clear()
    assert BACKENDS["cupy"].is_available()
    assert get_backend("auto").name == "cupy"
    assert standin.gpu.contexts == set()


def test_a_rank_on_its_gpu_touches_no_other(standin, monkeypatch):
    standin.gpu.contexts.clear()
    monkeypatch.setattr(standin.gpu._local, "device", 0, raising=False)
    backend = get_backend("cupy").for_local_rank(1)
    assert backend.device.id == 1
    net = bpnn.mlp([2, 3, 1], backend=backend, seed=0)
    net.fit(np.ones((8, 2)), np.ones((8, 1)), epochs=1, batch_size=4)
    net.predict(np.ones((2, 2)))
    assert standin.gpu.contexts == {1}
    standin.cuda.runtime.setDevice(0)  # back, for the tests after this one


def test_a_device_that_does_not_exist_is_a_clear_error(cupy_backend):
    count = cupy_backend._cupy.cuda.runtime.getDeviceCount()
    with pytest.raises(bpnn.backends.BackendError, match=f"no CUDA device {count} here"):
        get_backend(f"cupy:{count}")


def test_an_array_of_another_gpu_is_refused_by_name(cupy_backend):
    count = cupy_backend._cupy.cuda.runtime.getDeviceCount()
    if count < 2:
        pytest.skip("one GPU: no array can be on another")
    other = get_backend("cupy:1")
    with other.device_current():
        x = other.asarray(np.ones(3))
    with pytest.raises(ValueError, match=r"the array is on <CUDA Device 1>, the model on "
                                         r"<CUDA Device 0>"):
        cupy_backend.asarray(x)
