"""``bpnn train / predict / evaluate`` end to end on CSV and .npy data, and the errors a
shell user gets (exit code 2 and a message naming the file, column and line)."""

from __future__ import annotations

import csv
import re

import numpy as np
import pytest

import bpnn
from bpnn.cli import main

N = 240


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tables")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N, 3)) * [1.0, 50.0, 0.01] + [0.0, 300.0, 1.0]  # unscaled columns
    Z = (X - [0.0, 300.0, 1.0]) / [1.0, 50.0, 0.01]
    y = np.sin(Z[:, 0]) + 0.5 * Z[:, 1]
    label = np.where(Z[:, 0] + Z[:, 1] > 0, "high", "low")
    with open(folder / "reg.csv", "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["temperature", "pressure", "flow", "yield"])
        writer.writerows([[*row, target] for row, target in zip(X.tolist(), y.tolist())])
    with open(folder / "cls.csv", "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["flow", "temperature", "pressure", "grade"])  # columns in another order
        writer.writerows([[row[2], row[0], row[1], target] for row, target in zip(X.tolist(),
                                                                                   label)])
    np.save(folder / "data.npy", np.column_stack([X, y]).astype(np.float32))
    (folder / "shards").mkdir()
    for index in range(3):
        np.save(folder / "shards" / f"part-{index}.npy",
                np.column_stack([X, y])[index * 80:(index + 1) * 80])
    return folder


@pytest.fixture
def cli_backend(backend, backend_name):
    """The name of the backend under test, for ``--backend`` (skipped where unavailable)."""
    return backend_name


def run(capsys, *argv):
    code = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_regression_from_csv_train_predict_evaluate(data, tmp_path, capsys, cli_backend):
    backend = cli_backend  # every backend: the command line is guarded as the library is
    model = tmp_path / "reg.bpnn"
    code, out, err = run(capsys, "train", data / "reg.csv", "--target", "yield", "--epochs", 30,
                         "--backend", backend, "--out", model, "--quiet")
    assert code == 0 and "epoch 1/" not in err  # --quiet: no progress bar, but the summary
    assert "validation: R² " in out and "in the units of 'yield'" in out
    code, out, _ = run(capsys, "evaluate", model, data / "reg.csv", "--backend", backend)
    assert code == 0
    r2 = float(out.split("R² ")[1].split(",")[0])
    assert r2 > 0.9  # standardization made the unscaled columns learnable
    code, out, _ = run(capsys, "predict", model, data / "reg.csv", "--backend", backend)
    lines = out.splitlines()
    assert code == 0 and lines[0] == "yield" and len(lines) == N + 1
    # the file's predictions are the model's: raw rows in, standardized with the
    # training columns' statistics, raw units out
    loaded = bpnn.tabular.TabularModel.load(model)
    rows = np.loadtxt(data / "reg.csv", delimiter=",", skiprows=1)
    columns = (rows[:, :3] - loaded.info["x_mean"]) / loaded.info["x_scale"]
    expected = loaded.network.predict(columns)[:, 0] * loaded.info["y_scale"] + \
        loaded.info["y_mean"]
    np.testing.assert_allclose([float(v) for v in lines[1:]], expected, rtol=1e-5)


def test_classification_from_csv_with_text_labels(data, tmp_path, capsys, cli_backend):
    model = tmp_path / "cls.bpnn"
    code, out, _ = run(capsys, "train", data / "cls.csv", "--target", "grade", "--epochs", 40,
                       "--hidden", "16", "--lr", 0.01, "--out", model,
                       "--validation-fraction", 0.25, "--backend", cli_backend, "--quiet")
    assert code == 0 and "classification" in out and "2 classes" in out
    assert "confusion matrix" in out and "validation: accuracy" in out
    code, out, _ = run(capsys, "evaluate", model, data / "cls.csv", "--backend", cli_backend)
    accuracy = float(out.split("accuracy ")[1].split(",")[0])
    assert code == 0 and accuracy > 0.9
    matrix = [line.split() for line in out.splitlines()[-2:]]
    assert [row[0] for row in matrix] == ["high", "low"]
    assert sum(int(count) for row in matrix for count in row[1:]) == N
    out_file = tmp_path / "p.csv"
    code, _, err = run(capsys, "predict", model, data / "cls.csv", "--out", out_file,
                       "--backend", cli_backend)
    with open(out_file, newline="") as file:
        rows = list(csv.reader(file))
    assert code == 0 and rows[0] == ["grade", "p(high)", "p(low)"] and len(rows) == N + 1
    assert all(row[0] in ("high", "low") and abs(float(row[1]) + float(row[2]) - 1) < 1e-9
               for row in rows[1:])
    assert f"{N} predictions written" in err


@pytest.mark.parametrize("source", ["data.npy", "shards"])
def test_npy_file_and_shard_folder(data, tmp_path, capsys, cli_backend, source):
    backend = cli_backend
    model = tmp_path / "npy.bpnn"
    code, out, _ = run(capsys, "train", data / source, "--target", -1, "--epochs", 40,
                       "--backend", backend, "--out", model, "--quiet")
    assert code == 0
    code, out, _ = run(capsys, "evaluate", model, data / "data.npy", "--backend", backend)
    assert code == 0 and float(out.split("R² ")[1].split(",")[0]) > 0.8
    code, out, _ = run(capsys, "predict", model, data / "data.npy")
    assert code == 0 and len(out.splitlines()) == N + 1


def test_train_writes_a_checkpoint_and_a_plot(data, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    code, out, _ = run(capsys, "train", data / "reg.csv", "--target", "yield", "--epochs", 5,
                       "--out", tmp_path / "m.bpnn", "--checkpoint", tmp_path / "c.ckpt",
                       "--plot", tmp_path / "curves.png", "--quiet")
    assert code == 0
    assert (tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG"
    code, _, _ = run(capsys, "train", data / "reg.csv", "--target", "yield", "--epochs", 8,
                     "--out", tmp_path / "m.bpnn", "--checkpoint", tmp_path / "c.ckpt",
                     "--resume", tmp_path / "c.ckpt", "--quiet")
    assert code == 0 and len(bpnn.load(tmp_path / "c.ckpt").layers) > 0


def test_progress_bar_unless_quiet(data, tmp_path, capsys):
    code, _, err = run(capsys, "train", data / "reg.csv", "--target", "yield", "--epochs", 3,
                       "--out", tmp_path / "m.bpnn")
    assert code == 0 and "epoch 3/3" in err and "val_loss=" in err


def bad_csv(tmp_path, text):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    return path


@pytest.mark.parametrize(("argv", "message"), [
    (lambda d, t: ["train", t / "missing.csv", "--target", "y"], "missing.csv: no such file"),
    (lambda d, t: ["train", d / "reg.csv", "--target", "nope"],
     "reg.csv: no column 'nope'; the columns are 'temperature', 'pressure', 'flow', 'yield'"),
    (lambda d, t: ["train", bad_csv(t, "a,b,y\n1,2,3\n4,x,6\n"), "--target", "y"],
     "bad.csv: column 'b' has the non-numeric value 'x' at line 3"),
    (lambda d, t: ["train", bad_csv(t, "a,b,y\n1,2,3\n4,nan,6\n"), "--target", "y"],
     "bad.csv: column 'b' has NaN at line 3"),
    (lambda d, t: ["train", bad_csv(t, "a,b,y\n1,2,3\n4,,6\n"), "--target", "y"],
     "bad.csv: column 'b' has a missing value at line 3"),
    (lambda d, t: ["train", bad_csv(t, "a,b,y\n1,2,3\n4,5\n"), "--target", "y"],
     "bad.csv: line 3 has 2 fields, the header has 3"),
    (lambda d, t: ["train", bad_csv(t, "a,b,y\n1,2,x\n3,4,5.5\n"), "--target", "y", "--task",
                   "regression"], "target column 'y' has the non-numeric value 'x' at row 1"),
    (lambda d, t: ["train", d / "reg.csv", "--target", "yield", "--out", t / "no" / "m.bpnn"],
     "the folder .* does not exist"),
    (lambda d, t: ["predict", d / "reg.csv", d / "reg.csv"], "not a bpnn model file"),
    (lambda d, t: ["train", d / "reg.csv", "--target", "yield", "--backend", "tpu"],
     "unknown backend 'tpu'"),
    (lambda d, t: ["train", bad_csv(t, "a,b,y\n1,2,3\n"), "--target", "y",
                   "--validation-fraction", "1.5"], "--validation-fraction must be in"),
])
def test_bad_input_exits_2_with_a_message(data, tmp_path, capsys, argv, message):
    code, out, err = run(capsys, *argv(data, tmp_path))
    assert code == 2
    assert err.startswith("bpnn: error: ")
    assert re.search(message, err), err
    assert "Epoch" not in out and "epochs in" not in out  # refused before any training


def test_evaluate_with_unseen_labels_and_missing_columns(data, tmp_path, capsys):
    model = tmp_path / "cls.bpnn"
    assert run(capsys, "train", data / "cls.csv", "--target", "grade", "--epochs", 2, "--out",
               model, "--quiet")[0] == 0
    other = bad_csv(tmp_path, "flow,temperature,pressure,grade\n1,2,3,medium\n")
    code, _, err = run(capsys, "evaluate", model, other)
    assert code == 2 and "labels not seen in training: ['medium']" in err
    other = bad_csv(tmp_path, "flow,temperature,grade\n1,2,high\n")
    code, _, err = run(capsys, "predict", model, other)
    assert code == 2 and "missing ['pressure']" in err


def test_a_plain_network_file_is_not_a_table_model(tmp_path, capsys):
    net = bpnn.mlp([2, 3, 1], backend="numpy", seed=0).build()
    net.save(tmp_path / "plain.bpnn")
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    code, _, err = run(capsys, "predict", tmp_path / "plain.bpnn", tmp_path / "x.csv")
    assert code == 2 and "without a table description" in err


def test_npz_with_X_and_y(data, tmp_path, capsys):
    rows = np.load(data / "data.npy")
    np.savez(tmp_path / "d.npz", X=rows[:, :3], y=rows[:, 3])
    code, out, _ = run(capsys, "train", tmp_path / "d.npz", "--target", "y", "--epochs", 5,
                       "--out", tmp_path / "m.bpnn", "--validation-fraction", 0)
    assert code == 0 and "240 rows (240 train, 0 validation)" in out
    code, out, _ = run(capsys, "evaluate", tmp_path / "m.bpnn", tmp_path / "d.npz")
    assert code == 0 and "R²" in out


def test_parquet_needs_pyarrow_and_says_so(tmp_path, capsys, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    (tmp_path / "d.parquet").write_bytes(b"PAR1")
    code, _, err = run(capsys, "train", tmp_path / "d.parquet", "--target", "y")
    assert code == 2 and "reading Parquet needs pyarrow (pip install pyarrow)" in err


def test_parquet_when_pyarrow_is_installed(data, tmp_path, capsys):
    pyarrow = pytest.importorskip("pyarrow", reason="Parquet support needs pyarrow")
    import pyarrow.parquet as parquet

    rows = np.loadtxt(data / "reg.csv", delimiter=",", skiprows=1)
    table = pyarrow.table({name: rows[:, i] for i, name in
                           enumerate(["temperature", "pressure", "flow", "yield"])})
    parquet.write_table(table, tmp_path / "d.parquet")
    code, out, _ = run(capsys, "train", tmp_path / "d.parquet", "--target", "yield",
                       "--epochs", 5, "--out", tmp_path / "m.bpnn")
    assert code == 0 and "3 features -> yield" in out
