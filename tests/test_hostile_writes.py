"""Hostile destinations for every writer (issue 15, class 4): a device, FIFO, socket or
folder is never replaced; a command never overwrites its own input; concurrent writers do
not break each other; a bad destination is refused before any training; modes follow the
umask or the replaced file; a full disk is a WriteError naming the file."""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import stat
import subprocess
import sys
import time

import numpy as np
import pytest

import bpnn
from bpnn.cli import main
from bpnn.network import Network
from bpnn.tabular import TabularModel
from bpnn.validation import WriteError

ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    """A small regression CSV, and a model trained on it by ``bpnn train``."""
    folder = tmp_path_factory.mktemp("hostile")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    rows = ["a,b,y", *(f"{a!r},{b!r},{a - b!r}" for a, b in X.tolist())]
    (folder / "data.csv").write_text("\n".join(rows) + "\n")
    assert main(["train", str(folder / "data.csv"), "--target", "y", "--epochs", "2",
                 "--hidden", "4", "--quiet", "--out", str(folder / "model.bpnn")]) == 0
    return folder


def network(backend):
    net = bpnn.mlp([2, 4, 1], backend=backend, seed=0)
    net.build()
    return net


def train_args(table, *options, backend="numpy"):
    return ["train", str(table / "data.csv"), "--target", "y", "--epochs", "2", "--hidden", "4",
            "--quiet", "--backend", backend, *map(str, options)]


def predict_args(table, *options):
    return ["predict", str(table / "model.bpnn"), str(table / "data.csv"), *map(str, options)]


def cli(capsys, argv):
    code = main(argv)
    return code, capsys.readouterr().err


@pytest.fixture
def no_training(monkeypatch):
    """Fail the test if anything is trained or a model is loaded."""
    def refuse(*args, **kwargs):
        raise AssertionError("work was done before the destination was checked")

    monkeypatch.setattr(Network, "fit", refuse)
    monkeypatch.setattr(TabularModel, "load", classmethod(refuse))


@contextlib.contextmanager
def special_file(folder, kind):
    """A FIFO, a UNIX socket or a folder at ``folder/kind``; its ``stat`` type test."""
    path = folder / kind
    if kind == "fifo":
        os.mkfifo(path)
        yield path, stat.S_ISFIFO
    elif kind == "socket":
        server = socket.socket(socket.AF_UNIX)
        try:
            server.bind(str(path))
            yield path, stat.S_ISSOCK
        finally:
            server.close()
    else:
        path.mkdir()
        yield path, stat.S_ISDIR


# (a) never replace what is not a regular file ------------------------------------------------

@pytest.mark.skipif(not ROOT, reason="/dev/null can be replaced only by root")
@pytest.mark.parametrize("entry", ["save", "train --out", "train --checkpoint", "predict --out"])
def test_dev_null_stays_a_character_device(table, capsys, entry):
    devnull = "/dev/null"
    assert stat.S_ISCHR(os.stat(devnull).st_mode)
    try:
        if entry == "save":
            with pytest.raises(WriteError, match="/dev/null.*character device"):
                bpnn.save(network("numpy"), devnull)
        else:
            option = entry.split()[1]
            argv = (predict_args(table, option, devnull) if entry.startswith("predict")
                    else train_args(table, option, devnull))
            code, err = cli(capsys, argv)
            assert code == 2 and "/dev/null" in err and "character device" in err
    finally:
        assert stat.S_ISCHR(os.stat(devnull).st_mode)


@pytest.mark.parametrize("kind", ["fifo", "socket", "folder"])
def test_special_destination_refused_by_every_writer(table, tmp_path, capsys, backend, kind):
    with special_file(tmp_path, kind) as (path, is_kind):
        with pytest.raises(WriteError, match=kind if kind != "fifo" else "FIFO"):
            network(backend).save(path)
        with pytest.raises(WriteError, match=str(path)):
            bpnn.mlp([2, 4, 1], backend=backend, seed=0).fit(
                np.zeros((4, 2)), np.zeros((4, 1)), epochs=1, checkpoint=path)
        with pytest.raises(WriteError, match=str(path)):
            bpnn.mlp([2, 4, 1], backend=backend, seed=0).fit(
                np.zeros((4, 2)), np.zeros((4, 1)), epochs=1, callbacks=[bpnn.CSVLogger(path)])
        for argv in (train_args(table, "--out", path, backend=backend.name),
                     train_args(table, "--checkpoint", path, backend=backend.name),
                     predict_args(table, "--out", path, "--backend", backend.name)):
            code, err = cli(capsys, argv)
            assert code == 2 and str(path) in err, err
        assert is_kind(os.lstat(path).st_mode)


@pytest.mark.filterwarnings("ignore:Stochastic Optimizer")  # two iterations: not converged
def test_estimator_save_refuses_a_fifo(tmp_path):
    from bpnn.estimators import MLPRegressor

    model = MLPRegressor(hidden_layer_sizes=(3,), max_iter=2, backend="numpy")
    model.fit(np.zeros((8, 2)), np.zeros(8))
    with special_file(tmp_path, "fifo") as (path, is_kind):
        with pytest.raises(WriteError, match="FIFO"):
            model.save(path)
        assert is_kind(os.lstat(path).st_mode)


def test_symlink_to_a_regular_file_is_written_through(tmp_path):
    target, link = tmp_path / "target.bpnn", tmp_path / "link.bpnn"
    target.write_bytes(b"old")
    link.symlink_to(target)
    bpnn.save(network("numpy"), link)
    assert link.is_symlink() and bpnn.load(target).built


# (b) never overwrite the command's own input ----------------------------------------------

@pytest.mark.parametrize("argv", [
    lambda t: train_args(t, "--out", t / "data.csv"),
    lambda t: train_args(t, "--checkpoint", t / "data.csv"),
    lambda t: train_args(t, "--out", t / "link.csv"),  # a symbolic link to the input
    lambda t: train_args(t, "--out", t / "hard.csv"),  # a hard link to the input
    lambda t: predict_args(t, "--out", t / "model.bpnn"),
    lambda t: predict_args(t, "--out", t / "data.csv"),
], ids=["train-out", "train-checkpoint", "symlink", "hardlink", "predict-model", "predict-data"])
def test_output_equal_to_an_input_is_refused(table, capsys, no_training, argv):
    for name, make in (("link.csv", os.symlink), ("hard.csv", os.link)):
        if not (table / name).exists():
            make(table / "data.csv", table / name)
    before = {name: (table / name).read_bytes() for name in ("data.csv", "model.bpnn")}
    code, err = cli(capsys, argv(table))
    assert code == 2 and "is the input" in err, err
    assert {name: (table / name).read_bytes() for name in before} == before


def test_resume_checkpoint_is_not_the_model_output(table, tmp_path, capsys, no_training):
    checkpoint = tmp_path / "run.ckpt"
    checkpoint.write_bytes(b"a checkpoint")
    code, err = cli(capsys, train_args(table, "--resume", checkpoint, "--out", checkpoint))
    assert code == 2 and "is the input" in err
    assert checkpoint.read_bytes() == b"a checkpoint"


# (c) two processes writing one path --------------------------------------------------------

WRITER = """
import sys
import bpnn

net = bpnn.mlp([2, 8, 1], backend="numpy", seed=int(sys.argv[2]))
net.build()
for _ in range(20):
    net.save(sys.argv[1])
"""


def test_two_processes_saving_one_path_both_succeed(tmp_path):
    path = tmp_path / "shared.bpnn"
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(seed)],
                                stderr=subprocess.PIPE, text=True) for seed in (1, 2)]
    for writer in writers:
        _, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err
    assert bpnn.load(path).built
    assert [p.name for p in tmp_path.iterdir()] == ["shared.bpnn"]  # no temporary file left


# (d) a bad destination is refused before any work -------------------------------------------

@pytest.mark.parametrize("where", ["folder", "missing parent", "parent is a file"])
@pytest.mark.parametrize("option", ["--out", "--checkpoint", "--plot", "predict --out"])
def test_bad_destination_refused_before_training(table, tmp_path, capsys, no_training, where,
                                                 option):
    (tmp_path / "file").write_text("")
    path = {"folder": tmp_path, "missing parent": tmp_path / "missing" / "x.png",
            "parent is a file": tmp_path / "file" / "x.png"}[where]
    if option == "--plot":  # imported before the clock starts
        pytest.importorskip("matplotlib.backend_bases")
    start = time.perf_counter()
    argv = (predict_args(table, "--out", path) if option.startswith("predict")
            else train_args(table, option, path))
    code, err = cli(capsys, argv)
    assert code == 2 and str(path) in err, err
    assert time.perf_counter() - start < 2.0


@pytest.mark.skipif(ROOT or not hasattr(os, "geteuid"), reason="root writes anywhere")
def test_read_only_folder_refused_before_training(table, tmp_path, capsys, no_training):
    folder = tmp_path / "read-only"
    folder.mkdir(mode=0o555)
    code, err = cli(capsys, train_args(table, "--out", folder / "model.bpnn"))
    assert code == 2 and "not writable" in err


# (e) modes -------------------------------------------------------------------------------

@pytest.fixture
def umask_027():
    previous = os.umask(0o027)
    yield
    os.umask(previous)


def test_new_files_follow_the_umask(table, tmp_path, capsys, backend, umask_027):
    network(backend).save(tmp_path / "api.bpnn")
    assert main(train_args(table, "--out", tmp_path / "cli.bpnn", "--checkpoint",
                           tmp_path / "cli.ckpt", backend=backend.name)) == 0
    assert main(predict_args(table, "--out", tmp_path / "predictions.csv")) == 0
    capsys.readouterr()
    for name in ("api.bpnn", "cli.bpnn", "cli.ckpt", "predictions.csv"):
        assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == 0o640, name


@pytest.mark.parametrize("mode", [0o644, 0o600])
def test_replacing_a_file_keeps_its_mode(table, tmp_path, capsys, umask_027, mode):
    model, predictions = tmp_path / "model.bpnn", tmp_path / "predictions.csv"
    for path in (model, predictions):
        path.write_bytes(b"old")
        path.chmod(mode)
    bpnn.save(network("numpy"), model)
    assert main(predict_args(table, "--out", predictions)) == 0
    capsys.readouterr()
    for path in (model, predictions):
        assert stat.S_IMODE(os.stat(path).st_mode) == mode


# (f) a full disk -------------------------------------------------------------------------

def disk_full(*args):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


class FullFile:
    """A file whose every ``write`` finds the disk full."""

    def __init__(self, file):
        self.file = file

    def __enter__(self):
        return self

    def __exit__(self, *exception):
        self.file.close()

    write = staticmethod(disk_full)

    def __getattr__(self, name):
        return getattr(self.file, name)


@pytest.fixture(params=["write", "fsync"])
def full_disk(request, monkeypatch):
    """The disk is full when a file is written to, or only when it is synced (as on NFS)."""
    if request.param == "fsync":
        monkeypatch.setattr(os, "fsync", disk_full)
    else:
        fdopen = os.fdopen

        def full_fdopen(descriptor, mode="r", *args, **kwargs):
            file = fdopen(descriptor, mode, *args, **kwargs)
            return FullFile(file) if "w" in mode else file

        monkeypatch.setattr(os, "fdopen", full_fdopen)


def test_full_disk_is_a_write_error_naming_the_file(table, tmp_path, capsys, backend,
                                                    full_disk):
    model, predictions = tmp_path / "model.bpnn", tmp_path / "predictions.csv"
    model.write_bytes(b"old model")
    predictions.write_bytes(b"old predictions")
    with pytest.raises(WriteError, match="No space left") as caught:
        network(backend).save(model)
    assert str(model) in str(caught.value) and caught.value.errno == errno.ENOSPC
    assert isinstance(caught.value, OSError)
    for argv in (train_args(table, "--out", model, backend=backend.name),
                 predict_args(table, "--out", predictions, "--backend", backend.name)):
        code, err = cli(capsys, argv)
        assert code == 2 and "No space left" in err and str(tmp_path) in err, err
    assert model.read_bytes() == b"old model"
    assert predictions.read_bytes() == b"old predictions"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.bpnn", "predictions.csv"]
