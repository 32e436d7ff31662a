"""Hostile tables on the command line: each is exit code 2 and a message naming the file
and the line (or the columns), never a traceback or a silently wrong table."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from bpnn.tabular.tables import DataError, numeric_target, read_table
from bpnn.cli import main


def write(tmp_path, data, name="t.csv"):
    path = tmp_path / name
    (path.write_bytes if isinstance(data, bytes) else path.write_text)(data)
    return path


def refused(capsys, path, target="y", *options):
    """The stderr of ``bpnn train PATH --target TARGET OPTIONS``, which must exit with 2."""
    code = main(["train", str(path), "--target", target, "--epochs", "1", "--quiet",
                 "--out", str(path.parent / "m.bpnn"), *options])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("bpnn: error: ") and "Traceback" not in err
    assert path.name in err
    return err


@pytest.mark.parametrize(("text", "expected"), [
    ("a,b,a,y\n1,2,3,4\n", "names the columns 'a' more than once"),
    ("a,b,y\n1,1_000,3\n", "column 'b' has the non-numeric value '1_000' at line 2"),
    ("a,b,y\n1,\u0661,3\n", "column 'b' has the non-numeric value"),  # an Arabic-Indic digit
    ("a,b,y\n\n1,2,3\n\n\n4,x,6\n", "column 'b' has the non-numeric value 'x' at line 6"),
    ('a,b,y\n1,"2\n",3\n4,x,6\n', "'x' at line 4"),  # a quoted newline is a line of its own
    ('a,b,y\n1,2,3\n4,"5\n6\n",7,8\n', "line 3 has 4 fields"),  # a record's first line
])
def test_text_tables(tmp_path, capsys, text, expected):
    assert expected in refused(capsys, write(tmp_path, text))


def test_not_utf8_names_the_line_and_byte(tmp_path, capsys):
    path = write(tmp_path, "a,b,y\n1,2,3\n".encode() + b"4,\xe9t\xe9,6\n")
    assert "line 3, byte 3: not UTF-8 text" in refused(capsys, path)


def test_a_ten_megabyte_field(tmp_path, capsys):
    path = write(tmp_path, "a,b,y\n1,2,3\n" + "7" * 10_000_000 + ",2,3\n")
    err = refused(capsys, path)
    assert "line 3: not readable as CSV" in err and "field larger than field limit" in err


def test_underscored_target_is_not_a_number(tmp_path):
    path = write(tmp_path, "a,y\n1,1_000\n2,2_000\n")
    table = read_table(path, "y")
    assert table.y.dtype.kind == "U"  # labels, never 1000.0
    with pytest.raises(DataError, match="non-numeric value '1_000' at row 1"):
        numeric_target(table.y, table.where, table.target)


def test_regression_target_names_its_line(tmp_path, capsys):
    path = write(tmp_path, "a,y\n1,2\n\n3,1_000\n")
    err = refused(capsys, path, "y", "--task", "regression")
    assert "target column 'y' has the non-numeric value '1_000' at row 2 (line 4)" in err


def test_numeric_target_of_a_csv_is_a_name_never_a_position(tmp_path, capsys):
    path = write(tmp_path, "a,b,y\n1,2,3\n")
    assert "no column '0'" in refused(capsys, path, target="0")


def test_a_column_named_by_a_number(tmp_path, capsys, backend):
    """``--target 2`` is the column named "2" (not the third), and the model predicts on
    data with and without that column."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(120, 3))
    y = X @ [1.0, -2.0, 0.5]
    names = ["2", "a", "b", "c"]  # the target first: position 2 would be 'b'
    path, new_rows = tmp_path / "num.csv", tmp_path / "new.csv"
    with open(path, "w", newline="") as file:
        csv.writer(file).writerows([names, *np.column_stack([y, X]).tolist()])
    with open(new_rows, "w", newline="") as file:
        csv.writer(file).writerows([["c", "b", "a"], *X[:, ::-1].tolist()])
    model = tmp_path / "m.bpnn"
    assert main(["train", str(path), "--target", "2", "--epochs", "2", "--quiet",
                 "--backend", backend.name, "--out", str(model)]) == 0
    capsys.readouterr()  # the summary of training
    for data in (path, new_rows):
        assert main(["predict", str(model), str(data), "--backend", backend.name]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert lines[0] == "2" and len(lines) == 121
