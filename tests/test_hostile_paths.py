"""Paths that are not regular files, and files whose headers lie, at every read entry point.

Each reader (``bpnn.load``, the estimators' ``load``, a checkpoint resume, ``fit`` on a
``.npy`` path or a shard folder, and the command line) must refuse a FIFO, a socket, a
folder, a symbolic link loop, a device, a missing or an unreadable file with its own
clear error naming the path, never hang or raise a raw ``OSError``; and must refuse a
1 GiB sparse file or a ``.npy`` declaring 2**64 elements without reading or allocating
what the file only claims to hold.  Every case runs under a deadline, so that a
regression fails instead of hanging the suite.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import bpnn
from bpnn import MLPClassifier, MLPRegressor
from bpnn.data.rows import npy_rows, open_rows
from bpnn.cli import main
from bpnn.files import ModelFileError
from bpnn.validation import open_regular

#: Seconds a case may take before it counts as hung.
DEADLINE = 10
#: What each hostile path is, and a fragment of the message that must say so.
KINDS = {
    "fifo": "FIFO",
    "socket": "socket",
    "folder": "folder",
    "symlink loop": "symbolic link loop",
    "/dev/zero": "character device",
    "/dev/null": "character device",
    "missing": "no such file",
    "unreadable": "permission denied",
}
ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX file types")


@contextlib.contextmanager
def deadline(seconds=DEADLINE):
    """Fail (rather than hang) when the block takes longer than ``seconds``."""
    def expire(signum, frame):
        raise TimeoutError(f"still reading after {seconds} s: the reader hangs")
    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def hostile(tmp_path, request):
    """A factory: ``hostile(kind, name)`` makes a path of that kind in ``tmp_path``."""
    sockets = []

    def make(kind, name):
        path = tmp_path / name
        if kind == "fifo":
            os.mkfifo(path)
        elif kind == "socket":
            server = socket.socket(socket.AF_UNIX)
            server.bind(str(path))
            sockets.append(server)
        elif kind == "folder":
            path.mkdir()
        elif kind == "symlink loop":
            os.symlink(tmp_path / f"{name}.other", path)
            os.symlink(path, tmp_path / f"{name}.other")
        elif kind.startswith("/dev/"):
            return kind
        elif kind == "unreadable":
            if ROOT:
                pytest.skip("root reads any file")
            path.write_bytes(b"x" * 64)
            path.chmod(0)
        return str(path)

    yield make
    for server in sockets:
        server.close()


def refused(call, path, kind, error):
    """``call(path)`` raises ``error`` naming ``path`` and what it is, in time."""
    with deadline(), pytest.raises(error) as caught:
        call(path)
    message = str(caught.value)
    assert path in message and KINDS[kind] in message, message
    assert not isinstance(caught.value, TimeoutError)


MODEL_READERS = {
    "bpnn.load": bpnn.load,
    "MLPRegressor.load": MLPRegressor.load,
    "MLPClassifier.load": MLPClassifier.load,
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("reader", MODEL_READERS)
def test_model_readers_refuse_what_is_not_a_regular_file(hostile, kind, reader):
    refused(MODEL_READERS[reader], hostile(kind, "m.bpnn"), kind, ModelFileError)


@pytest.mark.parametrize("kind", KINDS)
def test_resume_refuses_what_is_not_a_regular_file(backend, hostile, tmp_path, kind):
    net = bpnn.mlp([3, 4, 1], backend=backend.name, seed=0)
    X, T = np.zeros((8, 3)), np.zeros((8, 1))
    path = hostile(kind, "run.ckpt")
    refused(lambda p: net.fit(X, T, epochs=1, checkpoint=tmp_path / "new.ckpt", resume=p),
            path, kind, ModelFileError)


@pytest.mark.parametrize("kind", KINDS)
def test_fit_on_a_npy_path_refuses_what_is_not_a_regular_file(backend, hostile, kind):
    net = bpnn.mlp([3, 4, 1], backend=backend.name, seed=0)
    path = hostile(kind, "X.npy")
    refused(lambda p: net.fit(p, np.zeros((8, 1)), epochs=1), path, kind, ValueError)


@pytest.mark.parametrize("kind", ["fifo", "socket", "folder", "symlink loop", "unreadable"])
def test_a_shard_folder_refuses_a_shard_that_is_not_a_regular_file(hostile, tmp_path, kind):
    np.save(tmp_path / "part-0.npy", np.zeros((4, 3)))
    path = hostile(kind, "part-1.npy")
    refused(lambda p: open_rows(tmp_path), path, kind, ValueError)


def test_a_fifo_swapped_in_after_the_check_does_not_hang(tmp_path, monkeypatch):
    regular = tmp_path / "regular"
    regular.write_bytes(b"x")
    os.mkfifo(tmp_path / "m.bpnn")
    real_stat = os.stat
    # the check sees a regular file; the open then finds the FIFO that replaced it
    monkeypatch.setattr("bpnn.validation.os.stat", lambda path: real_stat(regular))
    with deadline(), pytest.raises(ModelFileError, match="FIFO"):
        bpnn.load(tmp_path / "m.bpnn")


def test_permission_denied_is_said_even_to_root(tmp_path, monkeypatch):
    path = tmp_path / "m.bpnn"
    path.write_bytes(b"x" * 64)

    def deny(*args):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))
    monkeypatch.setattr("bpnn.validation.os.open", deny)
    with pytest.raises(ModelFileError, match="permission denied"):
        bpnn.load(path)


def test_open_regular_gives_a_blocking_descriptor_and_the_size(tmp_path):
    path = tmp_path / "data"
    path.write_bytes(b"12345")
    descriptor, size = open_regular(path)
    try:
        assert size == 5 and os.get_blocking(descriptor)
        assert os.read(descriptor, 10) == b"12345"
    finally:
        os.close(descriptor)


# -- the command line ------------------------------------------------------------------

@pytest.fixture(scope="module")
def table(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile-table")
    rows = ["a,b,y"] + [f"{i},{i % 3},{i % 2}" for i in range(12)]
    (folder / "t.csv").write_text("\n".join(rows) + "\n")
    return folder / "t.csv"


def cli(capsys, *argv):
    with deadline():
        code = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("command", ["predict", "evaluate"])
def test_predict_and_evaluate_exit_2_on_a_model_that_is_not_a_file(
        hostile, table, capsys, kind, command):
    path = hostile(kind, "m.bpnn")
    code, output = cli(capsys, command, path, table)
    assert code == 2 and "Traceback" not in output
    assert "bpnn: error:" in output and path in output and KINDS[kind] in output, output


@pytest.mark.parametrize("kind", KINDS)
def test_train_resume_exits_2_on_a_checkpoint_that_is_not_a_file(
        backend, hostile, table, tmp_path, capsys, kind):
    path = hostile(kind, "run.ckpt")
    code, output = cli(capsys, "train", table, "--target", "y", "--epochs", 1, "--quiet",
                       "--backend", backend.name, "--out", tmp_path / "m.bpnn",
                       "--resume", path)
    assert code == 2 and "Traceback" not in output
    assert "bpnn: error:" in output and path in output and KINDS[kind] in output, output


@pytest.fixture(scope="module")
def trained(table):
    """A model written by ``bpnn train`` (on NumPy: a model file opens on any backend)."""
    model = table.parent / "trained.bpnn"
    assert main(["train", str(table), "--target", "y", "--epochs", "1", "--quiet",
                 "--backend", "numpy", "--out", str(model)]) == 0
    return model


@pytest.mark.parametrize("kind", ["fifo", "socket", "folder"])
def test_predict_exits_2_on_npy_data_that_is_not_a_file(backend, hostile, trained, capsys, kind):
    model = trained
    path = hostile(kind, "rows.npy")
    code, output = cli(capsys, "predict", model, path, "--backend", backend.name)
    assert code == 2 and "Traceback" not in output
    assert "bpnn: error:" in output and path in output and KINDS[kind] in output, output


# -- sizes declared, checked before anything is read ---------------------------------

def huge_npy(path):
    """192 bytes: a ``.npy`` header declaring shape (2**32, 2**32) of float64 (2**64
    elements, whose int64 product wraps to 0), and 64 bytes of data."""
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }"
    header = header.ljust(128 - 10 - 1) + "\n"
    path.write_bytes(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little")
                     + header.encode("latin1") + bytes(64))
    assert path.stat().st_size == 192
    return path


def test_a_npy_declaring_2_to_the_64_elements_is_refused(tmp_path):
    path = huge_npy(tmp_path / "huge.npy")
    with deadline(), pytest.raises(ValueError, match="shorter than its header says"):
        npy_rows(path)


def test_fit_refuses_a_npy_declaring_2_to_the_64_elements(backend, tmp_path):
    net = bpnn.mlp([3, 4, 1], backend=backend.name, seed=0)
    path = huge_npy(tmp_path / "huge.npy")
    with deadline(), pytest.raises(ValueError, match="shorter than its header says"):
        net.fit(str(path), np.zeros((8, 1)), epochs=1)


#: Run in a child process: each reader refuses 1 GiB sparse files and the lying
#: ``.npy``; the child prints its peak memory growth (KiB) over a warmed-up baseline.
PEAK_SCRIPT = textwrap.dedent("""
    import os, resource, sys
    import numpy as np
    import bpnn
    from bpnn import MLPRegressor
    from bpnn.data.rows import open_rows
    from bpnn.cli import main

    folder = sys.argv[1]
    def path(name):
        return os.path.join(folder, name)
    net = bpnn.mlp([3, 4, 1], backend="numpy", seed=0)
    net.build()
    bpnn.save(net, path("model.bpnn"))
    readers = [bpnn.load, MLPRegressor.load, open_rows,
               lambda p: net.fit(X, T, epochs=1, resume=p),
               lambda p: main(["predict", p, path("t.csv")]) == 2 or 1 / 0]
    X, T = np.zeros((8, 3)), np.zeros((8, 1))
    with open(path("t.csv"), "w") as file:
        file.write("a,b,c,y\\n1,2,3,4\\n")
    def refuse_all(names):  # a ValueError, or the command's exit code 2
        for name in names:
            for number, reader in enumerate(readers):
                try:
                    outcome = reader(path(name))
                except ValueError:
                    continue
                assert outcome is True, (name, number)
    with open(path("small.npy"), "wb") as file:
        file.write(b"junk" * 4)
    with open(path("small.bpnn"), "wb") as file:
        file.write(b"junk" * 4)
    refuse_all(["small.npy", "small.bpnn"])  # every import and first call done
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with open(path("sparse.npy"), "wb") as file:
        file.truncate(2 ** 30)
    with open(path("sparse.bpnn"), "wb") as file:
        file.truncate(2 ** 30)
    with open(path("model.bpnn"), "r+b") as file:  # a sound header, then 1 GiB of padding
        file.truncate(2 ** 30)
    refuse_all(["sparse.npy", "sparse.bpnn", "model.bpnn", "huge.npy"])
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
""")


def test_sparse_and_lying_files_are_refused_without_reading_them(tmp_path):
    huge_npy(tmp_path / "huge.npy")
    child = subprocess.run([sys.executable, "-c", PEAK_SCRIPT, str(tmp_path)],
                           capture_output=True, text=True, timeout=60)
    assert child.returncode == 0, child.stderr
    growth_kib = int(child.stdout.split()[-1])
    assert growth_kib < 64 * 1024, f"peak memory grew by {growth_kib} KiB"


@pytest.mark.parametrize("name", ["data.csv", "data.parquet", "data.npz"])
@pytest.mark.parametrize("kind", ["fifo", "socket", "symlink loop"])
def test_a_table_path_that_is_not_a_regular_file_is_refused_by_the_commands(hostile, tmp_path,
                                                                           capsys, name, kind):
    """`bpnn train` on a table named like a CSV, Parquet or npz file that is a FIFO, a
    socket or a symbolic link loop: exit 2 naming what it is, and no hang."""
    path = hostile(kind, name)
    with deadline():
        code = main(["train", path, "--target", "y", "--out", str(tmp_path / "m.bpnn")])
    assert code == 2
    message = capsys.readouterr().err
    assert path in message and {"fifo": "FIFO", "socket": "socket",
                                "symlink loop": "symbolic link loop"}[kind] in message
