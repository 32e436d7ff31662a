"""The ``bpnn`` command."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bpnn import __version__
from bpnn.cli import main


def test_demo_prints_header_learning_curve_and_summary(capsys):
    assert main(["demo", "sin-regression", "--backend", "numpy", "--epochs", "201"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("bpnn demo sin-regression: 1-3-1 network")
    assert out[1].startswith("backend: numpy, NumPy")
    assert [line.split()[0] for line in out[2:5]] == ["Epoch:0/201", "Epoch:100/201",
                                                      "Epoch:200/201"]
    assert out[5].startswith("final mean error ") and "trained in" in out[5]


def test_classification_demo_prints_accuracy(capsys):
    assert main(["demo", "sin-classification", "--backend", "numpy", "--epochs", "2",
                 "--seed", "3", "--dtype", "float32"]) == 0
    out = capsys.readouterr().out
    assert "dtype float32; seed 3" in out and "training accuracy" in out


def test_unknown_backend_is_a_clear_error(capsys):
    assert main(["demo", "sin-regression", "--backend", "tpu"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("bpnn: error: unknown backend 'tpu'; available here: numpy")


def test_unknown_demo_is_refused(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "xor"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'xor'" in capsys.readouterr().err


def test_bad_epochs_is_a_clear_error(capsys):
    assert main(["demo", "sin-regression", "--epochs", "0"]) == 2
    assert "epochs must be a positive integer" in capsys.readouterr().err


def test_info_lists_every_backend(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    for name in ("numpy", "cupy", "array_api_strict", "torch"):
        assert name in out
    assert "default (auto):" in out and "CPU threads" in out
    assert "threads: bpnn train gives the BLAS and PyTorch pools 1 thread for a network " \
           "under 2e+07 flops a step" in out and "Pools here now: " in out


def test_module_entry_point_runs():
    done = subprocess.run([sys.executable, "-m", "bpnn", "--version"], capture_output=True,
                          text=True, check=True)
    assert done.stdout.strip() == f"bpnn {__version__}"


def test_vanishing_gradient_demo_prints_both_tables(capsys):
    assert main(["demo", "vanishing-gradient", "--backend", "numpy", "--epochs", "3"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("bpnn demo vanishing-gradient: 10 sigmoid hidden layers")
    assert out.count("ratio to next") == 2
    assert "sigmoid after 3 epochs: loss" in out and "relu    after 3 epochs: loss" in out
