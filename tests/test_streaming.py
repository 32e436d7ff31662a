"""Data larger than memory: memory maps, .npy files, shard folders and batch iterators
train exactly like the same data in memory, report bad rows by their global number,
and keep the process small."""

from __future__ import annotations

import os

import numpy as np
import pytest

import bpnn
from helpers import host_random

X = host_random(0, (300, 4)).astype(np.float32)
T = np.tanh(X @ host_random(1, (4, 2)).astype(np.float32))


@pytest.fixture
def files(tmp_path):
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "T.npy", T)
    (tmp_path / "xs").mkdir()
    (tmp_path / "ts").mkdir()
    for index, (start, stop) in enumerate([(0, 120), (120, 250), (250, 300)]):
        np.save(tmp_path / "xs" / f"part-{index}.npy", X[start:stop])
        np.save(tmp_path / "ts" / f"part-{index}.npy", T[start:stop])
    return tmp_path


def train(backend, X_data, T_data, **options):
    net = bpnn.mlp([4, 8, 2], activation="tanh", backend=backend.name, seed=3)
    history = net.fit(X_data, T_data, epochs=3, batch_size=32, optimizer="adam", **options)
    return net, history


def sources(folder):
    return {
        "npy files": (folder / "X.npy", str(folder / "T.npy")),
        "memory maps": (np.load(folder / "X.npy", mmap_mode="r"),
                        np.load(folder / "T.npy", mmap_mode="r")),
        "memory map and array": (np.load(folder / "X.npy", mmap_mode="r"), T),
        "shard folders": (folder / "xs", folder / "ts"),
    }


@pytest.mark.parametrize("kind", ["npy files", "memory maps", "memory map and array",
                                  "shard folders"])
def test_streamed_data_trains_exactly_like_the_array(backend, files, kind):
    reference, reference_history = train(backend, X, T)
    net, history = train(backend, *sources(files)[kind])
    assert net.dtype_name == "float32"  # the file's dtype, as for the array
    assert history.history == reference_history.history
    for a, b in zip(net.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_preloading_on_a_device_gives_the_same_run(backend, files, monkeypatch):
    """Where the data fits the device budget it is moved once (on a GPU); forced here."""
    reference, _ = train(backend, X, T)
    adapter = type(backend)
    monkeypatch.setattr(adapter, "free_memory", lambda self: 2 ** 30)
    moved = []
    original = adapter.upload
    monkeypatch.setattr(adapter, "upload",
                        lambda self, host, dtype=None: moved.append(len(host)) or
                        original(self, host, dtype))
    net, _ = train(backend, files / "X.npy", files / "T.npy")
    assert moved == [300, 300]  # X and T, once, in one chunk each: no batch uploads after
    for a, b in zip(net.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(a, b)
    moved.clear()
    train(backend, files / "X.npy", files / "T.npy", memory_budget=1000)  # over budget: streamed
    assert len(moved) == 2 * 3 * 10  # X and T, 3 epochs of 10 batches


def test_batch_iterator_function_runs_every_epoch(backend):
    def batches():
        for start in range(0, 300, 50):
            yield X[start:start + 50], T[start:start + 50]

    net, history = train(backend, batches, None)
    reference = bpnn.mlp([4, 8, 2], activation="tanh", backend=backend.name, seed=3)
    expected = reference.fit(X, T, epochs=3, batch_size=50, shuffle=False, optimizer="adam")
    assert history.history == expected.history


def test_a_one_shot_iterator_gives_one_epoch_and_says_so(backend):
    batches = ((X[i:i + 50], T[i:i + 50]) for i in range(0, 300, 50))
    net = bpnn.mlp([4, 8, 2], backend=backend.name, seed=0)
    assert len(net.fit(batches, None, epochs=1)) == 1
    again = ((X[i:i + 50], T[i:i + 50]) for i in range(0, 300, 50))
    with pytest.raises(ValueError, match="used up after one epoch: pass a function"):
        bpnn.mlp([4, 8, 2], backend=backend.name, seed=0).fit(again, None, epochs=2)


def test_resume_works_on_streamed_data(backend, files):
    straight, _ = train(backend, files / "X.npy", files / "T.npy")
    net = bpnn.mlp([4, 8, 2], activation="tanh", backend=backend.name, seed=3)
    net.fit(files / "X.npy", files / "T.npy", epochs=1, batch_size=32, optimizer="adam",
            checkpoint=files / "c.ckpt")
    again = bpnn.mlp([4, 8, 2], activation="tanh", backend=backend.name, seed=3)
    again.fit(files / "X.npy", files / "T.npy", epochs=3, batch_size=32, optimizer="adam",
              checkpoint=files / "c.ckpt", resume=True)
    for a, b in zip(again.get_weights(), straight.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_nan_in_a_file_names_its_global_row_and_column(backend, tmp_path):
    bad = X.copy()
    bad[217, 2] = np.nan
    np.save(tmp_path / "X.npy", bad)
    net = bpnn.mlp([4, 8, 2], backend=backend.name, seed=0)
    with pytest.raises(ValueError, match=r"X \(X.npy\) contains NaN or infinity \(first at row "
                                         r"217, column 2\)"):
        net.fit(tmp_path / "X.npy", T, epochs=1, batch_size=32)


@pytest.mark.parametrize(("make", "message"), [
    (lambda p: p / "missing.npy", "no such file"),
    (lambda p: (p / "X.csv").write_text("1,2\n") and p / "X.csv", "reads .npy files"),
    (lambda p: (p / "empty").mkdir() or p / "empty", "holds no .npy shards"),
    (lambda p: (p / "junk.npy").write_bytes(b"not numpy") and p / "junk.npy",
     "not a readable .npy file"),
    (lambda p: np.save(p / "s.npy", np.array(["a", "b"])) or p / "s.npy",
     "expected a C-ordered 1-D or 2-D array of numbers"),
    (lambda p: np.save(p / "short.npy", X[:10]) or p / "short.npy", "has 300 rows but"),
])
def test_bad_sources_are_clear_errors(backend, tmp_path, make, message):
    net = bpnn.mlp([4, 8, 2], backend=backend.name, seed=0)
    with pytest.raises(ValueError, match=message):
        net.fit(make(tmp_path), T, epochs=1)


def test_truncated_npy_is_refused(backend, tmp_path):
    np.save(tmp_path / "X.npy", X)
    data = (tmp_path / "X.npy").read_bytes()
    (tmp_path / "X.npy").write_bytes(data[:-100])
    with pytest.raises(ValueError, match="shorter than its header says"):
        bpnn.mlp([4, 8, 2], backend=backend.name, seed=0).fit(tmp_path / "X.npy", T)


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads VmHWM (Linux)")
def test_one_epoch_from_a_256_mib_memory_map_keeps_the_process_small(tmp_path):
    from bpnn.benchmarks import stream_memory

    x_path, y_path, n = stream_memory.write_data(str(tmp_path), 0.25)
    growth, peak, seconds = stream_memory.measure(x_path, y_path)
    print(f"\n256 MiB memmap, one epoch: peak RSS growth {growth:.0f} MiB (peak {peak:.0f} MiB), "
          f"{seconds:.1f} s")
    assert growth < 128
