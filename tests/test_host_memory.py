"""Host memory during training: a step's freed memory stays in the process for the next."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import bpnn
from bpnn.backends import host_memory
from bpnn.callbacks import Callback

glibc_only = pytest.mark.skipif(host_memory._glibc() is None, reason="glibc's malloc only")


class FakeLibc:
    """Records the calls the context makes."""

    def __init__(self):
        self.calls = []

    def mallopt(self, parameter, value):
        self.calls.append(("mallopt", parameter, value))
        return 1

    def malloc_trim(self, pad):
        self.calls.append(("malloc_trim", pad))
        return 1


@pytest.fixture
def fake_libc(monkeypatch):
    libc = FakeLibc()
    monkeypatch.setattr(host_memory, "_glibc", lambda: libc)
    return libc


def test_thresholds_are_set_on_entry_and_memory_returned_on_exit(fake_libc):
    with host_memory.keep_freed_memory():
        assert fake_libc.calls == [("mallopt", -3, 32 * 2 ** 20), ("mallopt", -1, 256 * 2 ** 20)]
    assert fake_libc.calls[2:] == [("malloc_trim", 0), ("mallopt", -1, 64 * 2 ** 20)]


def test_nested_contexts_act_as_one(fake_libc):
    with host_memory.keep_freed_memory():
        with host_memory.keep_freed_memory():
            pass
        assert [call[0] for call in fake_libc.calls] == ["mallopt", "mallopt"]
    assert [call[0] for call in fake_libc.calls] == ["mallopt", "mallopt", "malloc_trim",
                                                     "mallopt"]


def test_an_error_inside_still_returns_the_memory(fake_libc):
    with pytest.raises(ZeroDivisionError):
        with host_memory.keep_freed_memory():
            1 / 0
    assert fake_libc.calls[-2] == ("malloc_trim", 0)
    assert host_memory._depth == 0


def test_without_glibc_nothing_is_called(monkeypatch):
    monkeypatch.setattr(host_memory, "_glibc", lambda: None)
    with host_memory.keep_freed_memory():
        assert host_memory._depth == 0


class DepthRecorder(Callback):
    def __init__(self):
        self.depths = []

    def on_epoch_begin(self, epoch, logs=None):
        self.depths.append(host_memory._depth)


@glibc_only
def test_fit_keeps_freed_memory_while_it_trains(backend):
    X = np.linspace(-1.0, 1.0, 32).reshape(-1, 1)
    net = bpnn.mlp([1, 4, 1], backend=backend, seed=0)
    recorder = DepthRecorder()
    net.fit(X, np.sin(X), epochs=2, batch_size=8, callbacks=[recorder])
    assert recorder.depths == [1, 1]
    assert host_memory._depth == 0


# A step's worth of temporaries: one 2 MiB block (glibc's dynamic rule then trims the
# heap past 4 MiB free) and 6 MiB of smaller ones, allocated, touched and freed 30 times.
_STEPS = textwrap.dedent("""
    import resource, sys
    import numpy as np
    from bpnn.backends.host_memory import keep_freed_memory

    def steps():
        for _ in range(30):
            blocks = [np.ones(2 ** 18)] + [np.ones(2 ** 16) for _ in range(12)]
            del blocks

    steps()  # the first step's pages are new either way
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    if sys.argv[1] == "kept":
        with keep_freed_memory():
            steps()
    else:
        steps()
    print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
""")


@glibc_only
def test_repeated_steps_stop_page_faulting():
    def faults(mode):
        run = subprocess.run([sys.executable, "-c", _STEPS, mode], capture_output=True,
                             text=True, check=True)
        return int(run.stdout)

    returned, kept = faults("returned"), faults("kept")
    # 30 steps of 8 MiB returned and taken again are about 60,000 faults of 4 KiB
    assert returned > 20000
    assert kept < returned / 10
