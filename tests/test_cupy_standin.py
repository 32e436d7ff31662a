"""The CuPy stand-in: its API is CuPy's, and it fails the way a GPU fails.

The API check runs in a child process against the real CuPy package (which imports
without a GPU); the model's tests run where the suite uses the stand-in.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import conftest

HERE = pathlib.Path(__file__).parent


def test_the_standin_offers_only_what_the_real_cupy_has():
    """Names, signatures, methods against attributes: checked against the installed CuPy
    (`pip install cupy-cuda12x` imports without a GPU; the test extra installs it)."""
    env = {k: v for k, v in os.environ.items() if k != "BPNN_TEST_CUPY"}
    probe = subprocess.run([sys.executable, "-c", "import cupy"], capture_output=True,
                           env=env, cwd=HERE)
    if probe.returncode != 0:
        pytest.fail("the real CuPy package is needed to check the stand-in against it: "
                    "pip install 'bpnn[test]' installs it (cupy-cuda12x imports without a GPU)")
    done = subprocess.run([sys.executable, "standin_api_check.py"], capture_output=True,
                          text=True, env=env, cwd=HERE, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 problem(s)" in done.stdout


def test_the_signature_table_is_the_installed_cupys():
    env = {k: v for k, v in os.environ.items() if k != "BPNN_TEST_CUPY"}
    done = subprocess.run([sys.executable, "-m", "cupy_standin.generate"], capture_output=True,
                          text=True, env=env, cwd=HERE, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout == (HERE / "cupy_standin" / "_signatures.py").read_text(), \
        "CuPy's signatures changed: regenerate tests/cupy_standin/_signatures.py (see generate.py)"


@pytest.fixture
def cupy():
    if conftest.CUPY_KIND != "standin":
        pytest.skip("the real CuPy runs here: the stand-in is not in use")
    module = sys.modules["cupy"]
    module.gpu.reset()
    yield module
    module.gpu.reset()


def test_calls_cupy_refuses_are_refused(cupy):
    x = cupy.asarray(np.ones(3))
    with pytest.raises(TypeError):
        cupy.sum(x, where=True)  # NumPy takes it, CuPy does not
    with pytest.raises(TypeError, match="Unsupported type"):
        x + np.ones(3)  # host arrays never enter kernels
    with pytest.raises(TypeError, match="Implicit conversion"):
        np.asarray(x)
    with pytest.raises(TypeError):
        cupy.zeros(3, device=0)  # CuPy's creation functions take no device


def test_an_array_belongs_to_the_device_current_at_its_creation(cupy):
    with cupy.cuda.Device(1):
        on_one = cupy.zeros(3)
    on_zero = cupy.ones(3)
    assert on_one.device.id == 1 and on_zero.device.id == 0
    with pytest.raises(ValueError, match=r"resides \(1\) is different from the current device \(0\)"):
        on_one + on_zero
    with cupy.cuda.Device(1):
        assert float((on_one + 1.0).sum()) == 3.0
        copied = cupy.asarray(on_zero)  # a peer copy, as CuPy makes one
    assert copied.device.id == 1


def test_a_copy_on_another_stream_arrives_only_after_a_wait(cupy):
    stream = cupy.cuda.Stream(non_blocking=True)
    host = np.arange(4.0)
    x = cupy.empty((4,))
    x.set(host, stream=stream)
    with pytest.raises(cupy.StreamRaceError, match="no event between them"):
        x * 2.0  # the compute stream reads what the copy stream has not written yet
    y = cupy.empty((4,))
    y.set(host, stream=stream)
    cupy.cuda.get_current_stream().wait_event(stream.record())
    np.testing.assert_array_equal(cupy.asnumpy(y * 2.0), host * 2.0)


def test_without_a_wait_the_destination_holds_stale_bytes(cupy):
    stream = cupy.cuda.Stream(non_blocking=True)
    x = cupy.empty((4,))
    x.set(np.arange(4.0), stream=stream)
    assert np.isnan(x._data).all()  # fresh memory holds NaN bytes until the copy runs
    stream.synchronize()
    np.testing.assert_array_equal(cupy.asnumpy(x), np.arange(4.0))


def test_a_pooled_block_reused_by_another_stream_is_a_race(cupy):
    x = cupy.empty((256,))
    x.fill(1.0)
    y = x * 2.0  # queued on the null stream, reading x's block
    del x  # the block goes back to the null stream's pool, its kernel still queued
    again = cupy.empty((256,))  # the same block, handed out again
    with pytest.raises(cupy.StreamRaceError, match="reused too early"):
        again.set(np.zeros(256), stream=cupy.cuda.Stream(non_blocking=True))
    assert float(y.sum()) == 512.0


def test_a_page_locked_buffer_reused_before_its_copy_ran_is_a_race(cupy):
    pinned = cupy.cuda.alloc_pinned_memory(64)
    staging = np.frombuffer(pinned, dtype=np.float64, count=4)
    staging[:] = 1.0
    a = cupy.empty((4,))
    a.set(staging, stream=cupy.cuda.get_current_stream())
    staging[:] = 2.0  # the copy has not run: the device will see 2.0 (a real GPU might too)
    b = cupy.empty((4,))
    with pytest.raises(cupy.StreamRaceError, match="page-locked host buffer is reused"):
        b.set(staging, stream=cupy.cuda.get_current_stream())
    cupy.cuda.get_current_stream().synchronize()
    assert cupy.asnumpy(a)[0] == 2.0  # the late copy read the buffer as it was then


def test_contexts_are_made_only_where_work_runs(cupy):
    cupy.gpu.contexts.clear()
    assert cupy.cuda.runtime.getDeviceCount() == 2
    cupy.cuda.runtime.getDeviceProperties(1)
    assert cupy.gpu.contexts == set()
    with cupy.cuda.Device(1):
        cupy.zeros(2)
    assert 1 in cupy.gpu.contexts
