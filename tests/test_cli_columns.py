"""The columns of ``bpnn train``'s table: ``--drop``, ``--id`` (carried to ``predict``'s
output), missing values (refused, or ``--impute`` with the training median or mode saved
in the model), ``--sep`` and the hint for a file separated by ``;``; and the files: the
model's mode, ``evaluate`` with its two arguments swapped."""

from __future__ import annotations

import csv
import io
import os

import numpy as np
import pytest

from bpnn.cli import main
from bpnn.tabular import TabularModel
from bpnn.tabular.tables import fill_values

#: 12 rows: an id, a note, two features with gaps (``a`` numbers, ``k`` a code), a target.
ROWS = [["id", "a", "k", "notes", "y"]] + [
    [f"r{i}", "" if i == 4 else f"{i * 1.5}", "" if i == 7 else str(i % 3 and 1),
     f"note {i}", f"{2 * i + 1}.5"] for i in range(12)]


def write(path, rows, sep=","):
    with open(path, "w", newline="") as file:
        csv.writer(file, delimiter=sep).writerows(rows)
    return path


def run(capsys, *argv):
    code = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def table(tmp_path):
    return write(tmp_path / "t.csv", ROWS)


def test_a_missing_value_is_refused_and_names_the_option(table, tmp_path, capsys):
    code, _, err = run(capsys, "train", table, "--target", "y", "--drop", "id,notes",
                       "--out", tmp_path / "m.bpnn")
    assert code == 2
    assert "column 'a' has a missing value at line 6; --impute fills missing values" in err


def test_impute_drop_and_id_from_train_to_predict(table, tmp_path, capsys):
    model = tmp_path / "m.bpnn"
    code, out, err = run(capsys, "train", table, "--target", "y", "--drop", "notes", "--id",
                         "id", "--impute", "--epochs", 2, "--quiet", "--out", model)
    assert code == 0, err
    assert "2 missing values filled" in out and "2 features -> y" in out
    info = TabularModel.load(model).info
    assert info["features"] == ["a", "k"] and info["id"] == "id"
    assert info["dropped"] == ["notes"]
    # the training rows' median of a (the split's), and the mode of the code k
    assert info["impute"][1] == 1.0 and 1.5 <= info["impute"][0] <= 15.0
    # predict fills the same gaps with the saved values, and leads each row with its id
    code, out, _ = run(capsys, "predict", model, table)
    lines = list(csv.reader(io.StringIO(out)))
    assert code == 0 and lines[0] == ["id", "y"] and [row[0] for row in lines[1:]] == \
        [f"r{i}" for i in range(12)]
    # new rows without the id and the dropped column predict too, the same values
    bare = write(tmp_path / "bare.csv", [[row[1], row[2]] for row in ROWS])
    code, again, _ = run(capsys, "predict", model, bare)
    assert code == 0 and [row[0] for row in csv.reader(io.StringIO(again))][1:] == \
        [row[1] for row in lines[1:]]


def test_fill_values_median_and_mode():
    block = np.array([[1.0, 2.0, np.nan], [3.0, 2.0, np.nan], [np.nan, 5.0, np.nan],
                      [10.5, 2.0, np.nan]])
    # a: not whole numbers -> median; the second: whole codes -> mode; no value -> 0
    assert fill_values(block) == [3.0, 2.0, 0.0]


def test_drop_and_id_must_name_columns(table, tmp_path, capsys):
    code, _, err = run(capsys, "train", table, "--target", "y", "--drop", "nope")
    assert code == 2 and "no column 'nope' (of --drop or --id)" in err
    code, _, err = run(capsys, "train", table, "--target", "y", "--id", "y")
    assert code == 2 and "'y' is the target column" in err
    np.save(tmp_path / "a.npy", np.zeros((4, 3)))
    code, _, err = run(capsys, "train", tmp_path / "a.npy", "--target", "2", "--id", "0")
    assert code == 2 and "--drop and --id name the columns of a CSV or Parquet" in err


def test_sep_and_the_hint_for_a_semicolon_file(tmp_path, capsys):
    rows = [["a", "b", "y"]] + [[str(i), str(i % 4), str(i * 0.5)] for i in range(30)]
    semicolons = write(tmp_path / "s.csv", rows, sep=";")
    code, _, err = run(capsys, "train", semicolons, "--target", "y")
    assert code == 2 and "the column name 'a;b;y' holds ';'" in err and "--sep ';'" in err
    code, out, _ = run(capsys, "train", semicolons, "--target", "y", "--sep", ";", "--epochs",
                       1, "--quiet", "--out", tmp_path / "m.bpnn")
    assert code == 0 and "2 features -> y" in out
    code, out, _ = run(capsys, "evaluate", tmp_path / "m.bpnn", semicolons, "--sep", ";")
    assert code == 0 and "R² " in out
    tabs = write(tmp_path / "t.csv", rows, sep="\t")
    code, _, err = run(capsys, "train", tabs, "--target", "y")
    assert code == 2 and "holds a tab" in err and "--sep $'\\t'" in err


def test_model_files_get_the_mode_of_the_umask(table, tmp_path, capsys):
    old = os.umask(0o027)
    try:
        code, _, _ = run(capsys, "train", table, "--target", "y", "--drop", "id,notes",
                         "--impute", "--epochs", 1, "--quiet", "--out", tmp_path / "m.bpnn")
    finally:
        os.umask(old)
    assert code == 0 and (tmp_path / "m.bpnn").stat().st_mode & 0o777 == 0o640


def test_evaluate_with_data_and_model_swapped_says_so(table, tmp_path, capsys):
    model = tmp_path / "m.bpnn"
    assert run(capsys, "train", table, "--target", "y", "--drop", "id,notes", "--impute",
               "--epochs", 1, "--quiet", "--out", model)[0] == 0
    for command in ("evaluate", "predict"):
        code, _, err = run(capsys, command, table, model)
        assert code == 2
        assert (f"{table} is not a model, and {model} is one: the model comes first "
                f"(bpnn {command} MODEL DATA)") in err


def test_nan_in_an_array_is_refused_unless_imputed(tmp_path, capsys):
    rows = np.column_stack([np.arange(20.0), np.arange(20.0) % 3, np.arange(20.0) * 2])
    rows[4, 0] = np.nan
    np.save(tmp_path / "a.npy", rows)
    code, _, err = run(capsys, "train", tmp_path / "a.npy", "--target", -1, "--epochs", 1,
                       "--quiet", "--out", tmp_path / "m.bpnn")
    assert code == 2 and "column '0' has NaN or infinity at row 5" in err
    assert "--impute fills missing values (NaN)" in err
    code, out, _ = run(capsys, "train", tmp_path / "a.npy", "--target", -1, "--epochs", 1,
                       "--impute", "--quiet", "--out", tmp_path / "m.bpnn")
    assert code == 0 and "1 missing values filled" in out
    code, out, _ = run(capsys, "predict", tmp_path / "m.bpnn", tmp_path / "a.npy")
    assert code == 0 and len(out.splitlines()) == 21 and "nan" not in out
