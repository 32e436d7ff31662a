"""What escapes the ``bpnn`` command: a user's problem is exit code 2 and a sentence to act
on (divergence, memory, an unknown name), a closed pipe is a quiet stop, and anything
else is a bug in bpnn, shown as one (exit code 1 and its traceback)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import bpnn
from bpnn.cli import main
from bpnn.commands import train as train_command

ROWS = 60


@pytest.fixture
def table(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(ROWS, 3))
    path = tmp_path / "t.csv"
    np.savetxt(path, np.column_stack([X, X @ [1.0, 2.0, 3.0]]), delimiter=",",
               header="a,b,c,y", comments="")
    return path


def train(capsys, table, *options):
    """``(exit code, stderr)`` of ``bpnn train TABLE --target y OPTIONS``."""
    code = main(["train", str(table), "--target", "y", "--epochs", "2", "--quiet",
                 "--out", str(table.parent / "m.bpnn"), *map(str, options)])
    return code, capsys.readouterr().err


def test_divergence_is_a_user_error(table, capsys, backend):
    code, err = train(capsys, table, "--solver", "sgd", "--lr", 1e6, "--no-standardize",
                      "--backend", backend.name)
    assert code == 2 and "Traceback" not in err
    assert "training diverged" in err and "--lr" in err


class OutOfMemoryError(RuntimeError):
    """What PyTorch raises when the device is full (a RuntimeError by that name)."""


@pytest.mark.parametrize("where", ["Network", "fit"])
@pytest.mark.parametrize("failure", [MemoryError, OutOfMemoryError])
def test_not_enough_memory_says_how_large(table, capsys, monkeypatch, where, failure):
    def allocate(*args, **kwargs):
        raise failure("out of memory")

    if where == "Network":
        monkeypatch.setattr(train_command, "mlp", allocate)
    else:
        monkeypatch.setattr(bpnn.Network, "fit", allocate)
    code, err = train(capsys, table, "--hidden", "200000,200000")
    parameters = 4 * 200_000 + 200_001 * 200_000 + 200_001  # 3-200000-200000-1
    assert code == 2 and "Traceback" not in err
    assert f"not enough memory for a network of {parameters:,} parameters" in err
    assert "--hidden" in err


def test_unknown_activation_is_a_user_error(table, capsys):
    code, err = train(capsys, table, "--activation", "nope")
    assert code == 2 and "unknown activation 'nope'" in err


@pytest.mark.parametrize("bug", [KeyError, ValueError, RuntimeError, ImportError])
def test_a_bug_shows_as_one(table, capsys, monkeypatch, bug):
    def broken(*args, **kwargs):
        raise bug("a bug in bpnn")

    monkeypatch.setattr(train_command, "infer_task", broken)
    code, err = train(capsys, table)
    assert code == 1
    assert "Traceback" in err and f"{bug.__name__}: " in err and "internal error" in err
    assert "bpnn: error:" not in err


def test_a_missing_optional_package_says_what_to_install(table, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails
    code, err = train(capsys, table, "--plot", table.parent / "curves.png")
    assert code == 2 and "Traceback" not in err
    assert 'pip install "bpnn[plot]"' in err


def test_predict_into_head_stops_quietly(tmp_path, capsys):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "train.npy", rng.normal(size=(ROWS, 4)))
    np.save(tmp_path / "rows.npy", rng.normal(size=(40_000, 3)))  # ~800 kB of output
    model = tmp_path / "m.bpnn"
    assert main(["train", str(tmp_path / "train.npy"), "--target", "3", "--epochs", "1",
                 "--quiet", "--out", str(model)]) == 0
    command = (f"'{sys.executable}' -m bpnn predict '{model}' '{tmp_path / 'rows.npy'}' "
               "| head -1; exit ${PIPESTATUS[0]}")
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True,
                          timeout=120)
    assert done.stderr == ""
    assert done.stdout.splitlines() == ["3"]
    assert done.returncode == 141  # bpnn's own status; the pipeline's, head's, is 0
