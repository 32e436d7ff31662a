"""How a failing rank ends an MPI job, without MPI: its last words reach the pipe's reader
before the abort, and nothing of the rank runs after an ``Abort`` that returns."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from bpnn.distributed import _wait_until_read

pytest.importorskip("mpi4py")

# A Distributed over a communicator whose Abort returns, as MPICH's may before the
# process manager ends the job.
RETURNING_ABORT = textwrap.dedent("""
    import os
    import sys
    from bpnn.distributed import Distributed
    from bpnn.errors import InputError

    class Comm:
        def Get_rank(self):
            return 1

        def Get_size(self):
            return 2

        def Abort(self, code):  # around Python's buffer, as MPI's C code writes
            os.write(1, f"Abort({code}) returned\\n".encode())

    class Closed:
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

    if sys.argv[1:] == ["--closed-stderr"]:
        sys.stderr = Closed()
    print("epoch 3 of 10")  # still in Python's buffer: the abort must flush it first
    dist = Distributed(comm=Comm())
    if sys.argv[1:] == ["--interrupt"]:
        dist.last_words = lambda error: print(f"last words on {type(error).__name__}",
                                              file=sys.stderr)
    try:
        if sys.argv[1:] == ["--input-error"]:
            raise InputError("lr must be positive")
        if sys.argv[1:] == ["--interrupt"]:
            raise KeyboardInterrupt
        raise RuntimeError("a failure injected on purpose")
    except (InputError, RuntimeError, KeyboardInterrupt) as error:
        dist.abort(error)
    print("the rank went on", flush=True)
""")


RETURNED = "epoch 3 of 10\nAbort(1) returned\n"  # what the rank printed, and no more


def abort_returning(*options):
    """Run ``RETURNING_ABORT`` in a fresh interpreter."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    env.pop("PYTHONUNBUFFERED", None)  # stdout into a pipe buffers, as under mpiexec
    return subprocess.run([sys.executable, "-c", RETURNING_ABORT, *options],
                          capture_output=True, text=True, timeout=60, env=env, check=False)


def test_a_rank_whose_abort_returns_goes_no_further():
    done = abort_returning()
    assert done.returncode == 1
    assert done.stdout == RETURNED  # not "the rank went on"
    assert "Traceback (most recent call last)" in done.stderr
    assert done.stderr.rstrip().endswith(
        "bpnn: rank 1 of 2 failed: RuntimeError: a failure injected on purpose; "
        "aborting the MPI job")
    assert done.stderr.count("a failure injected on purpose") == 2  # traceback, summary


def test_bpnns_own_input_errors_are_said_without_a_traceback():
    done = abort_returning("--input-error")
    assert (done.returncode, done.stdout) == (1, RETURNED)
    assert done.stderr == ("bpnn: rank 1 of 2 failed: InputError: lr must be positive; "
                           "aborting the MPI job\n")


def test_ctrl_c_is_said_without_a_traceback_and_the_last_words_follow():
    done = abort_returning("--interrupt")
    assert (done.returncode, done.stdout) == (1, RETURNED)
    assert done.stderr == ("bpnn: rank 1 of 2 was interrupted; aborting the MPI job\n"
                           "last words on KeyboardInterrupt\n")


def test_a_standard_error_that_cannot_be_written_still_aborts():
    done = abort_returning("--closed-stderr")
    assert (done.returncode, done.stdout) == (1, RETURNED)


def test_the_abort_waits_until_the_pipe_is_read():
    read_end, write_end = os.pipe()
    got = []

    def reader():
        time.sleep(0.2)
        got.append(os.read(read_end, 100))

    with os.fdopen(write_end, "w") as stream:
        stream.write("last words\n")
        stream.flush()
        thread = threading.Thread(target=reader)
        thread.start()
        _wait_until_read([stream], seconds=60)
        assert got == [b"last words\n"]  # it returned only once the reader had them
        thread.join()
    os.close(read_end)


def test_the_wait_gives_up_when_nobody_reads():
    read_end, write_end = os.pipe()
    with os.fdopen(write_end, "w") as stream:
        stream.write("never read\n")
        stream.flush()
        _wait_until_read([stream], seconds=0.05)  # returns: the test does not hang
    assert os.read(read_end, 100) == b"never read\n"
    os.close(read_end)


def test_anything_but_a_pipe_is_not_waited_for(tmp_path):
    with open(tmp_path / "log.txt", "w") as stream:
        stream.write("in a file\n")
        stream.flush()
        _wait_until_read([stream], seconds=60)
    _wait_until_read([io.StringIO()], seconds=60)  # a replaced sys.stderr: no descriptor
