"""Reading tables for the command line: CSV, Parquet, ``.npy``/``.npz`` and shard folders.

A :class:`Table` gives the feature columns as a row source (streamed from
``.npy`` files, in memory for the others) and the target column in memory,
with the checks a shell user needs: a missing file, an unknown column,
non-numeric or missing values and NaN are :class:`DataError` naming the file,
the column and the line (or row).  So are a header that names a column twice,
text that is not UTF-8 and a line that is not CSV.  Numbers are read strictly
(``1_000`` is text), and a numeric ``--target`` is a column number only where
the columns have no names (``.npy``, ``.npz``).
"""

from __future__ import annotations

import csv
import os
import pathlib
import re

import numpy as np

from ..errors import InputError
from ..validation import open_regular
from ..data.rows import ArrayRows, RowSource, ShardRows, first_non_finite, npy_rows

#: The most classes a numeric target may have to be taken as labels by ``task="auto"``.
MAX_AUTO_CLASSES = 20
_CHUNK = 65536
#: A number as a table may write it: ASCII digits, a sign, a point, an exponent, or
#: inf/nan (refused later with their own message); no ``_`` or other digits that
#: Python's ``float`` also takes.
_NUMBER = re.compile(r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:e[+-]?[0-9]+)?|inf|infinity|nan)",
                     re.IGNORECASE)


class DataError(InputError):
    """Data a command cannot use; the message names the file, column and row."""


class ColumnRows(RowSource):
    """Some columns of another row source."""

    def __init__(self, source, columns):
        self.source, self.columns = source, list(columns)
        self.shape = (source.shape[0], len(self.columns))
        self.dtype_name = source.dtype_name
        self.where = source.where

    def take(self, indices):
        return self.source.take(indices)[:, self.columns]

    def close(self):
        self.source.close()


class SubsetRows(RowSource):
    """The rows ``rows`` of another source, renumbered from 0 (a train/validation split)."""

    def __init__(self, source, rows):
        self.source, self.rows = source, np.asarray(rows, dtype=np.int64)
        self.shape = (len(self.rows), source.shape[1])
        self.dtype_name = source.dtype_name
        self.where = source.where

    def take(self, indices):
        return self.source.take(self.rows[np.asarray(indices, dtype=np.int64)])

    def close(self):
        self.source.close()


class StandardizedRows(RowSource):
    """Another row source's rows standardized on the host in float64 (see
    :func:`standardize_block`): a network of any dtype gets columns of scale 1, so a
    narrow column on a large offset keeps its digits in float32."""

    def __init__(self, source, mean, scale):
        self.source = source
        self.mean = np.asarray(mean, dtype=np.float64)
        self.scale = np.asarray(scale, dtype=np.float64)
        self.shape = source.shape
        self.dtype_name = "float64"
        self.where = source.where

    def take(self, indices):
        return standardize_block(self.source.take(indices), self.mean, self.scale)

    def close(self):
        self.source.close()


class FilledRows(RowSource):
    """Another row source's rows with each missing value (NaN) of column ``j`` replaced
    by ``values[j]`` (the training column's median or mode, :func:`fill_values`)."""

    def __init__(self, source, values):
        self.source = source
        self.values = np.asarray(values, dtype=np.float64)
        self.shape = source.shape
        self.dtype_name = "float64"
        self.where = source.where

    def take(self, indices):
        block = np.array(self.source.take(indices), dtype=np.float64)
        missing = np.isnan(block)
        block[missing] = np.broadcast_to(self.values, block.shape)[missing]
        return block

    def close(self):
        self.source.close()


def fill_values(block):
    """What fills each column's missing values (NaN) in ``block``, the training rows: the
    mode of a column of whole numbers with at most :data:`MAX_AUTO_CLASSES` distinct
    values (a code or a count; the smallest of equally common ones), else the median;
    0 for a column with no value at all."""
    values = []
    for column in np.asarray(block, dtype=np.float64).T:
        present = column[~np.isnan(column)]
        if not len(present):
            values.append(0.0)
            continue
        distinct, counts = np.unique(present, return_counts=True)
        if np.all(np.mod(distinct, 1) == 0) and len(distinct) <= MAX_AUTO_CLASSES:
            values.append(float(distinct[np.argmax(counts)]))
        else:
            values.append(float(np.median(present)))
    return values


class Table:
    """Feature columns (``X``, a row source), their ``features`` names, and the ``target``.

    Attributes
    ----------
    X : RowSource
    features : list of str
    y : numpy.ndarray or None
        The target column's values as read (numbers, or strings for labels).
    target : str or None
    where : str
    by_position : bool
        The columns have no names but their positions (``.npy``, ``.npz``).
    locate : callable or None
        Row number (0-based) -> where it is in the file, for messages
        (``"line 7"`` in a CSV file); None where the row number says it.
    """

    def __init__(self, X, features, y, target, where, by_position=False, locate=None):
        self.X, self.features, self.y, self.target, self.where = X, features, y, target, where
        self.by_position = by_position
        self.locate = locate
        #: the values of the ``id_column`` of :func:`read_table` (text), or None
        self.ids = None

    @property
    def n_rows(self):
        return self.X.shape[0]

    def check_finite(self, missing=False):
        """Raise :class:`DataError` at the first NaN or infinity among the features (with
        ``missing``, at the first infinity: NaN is a missing value to impute)."""
        for start in range(0, self.n_rows, _CHUNK):
            block = self.X.take(np.arange(start, min(start + _CHUNK, self.n_rows)))
            bad = first_non_finite(np.where(np.isnan(block), 0.0, block) if missing else block)
            if bad is not None:
                row, column = bad
                hint = "" if missing or not np.isnan(block[row, column]) else \
                    "; --impute fills missing values (NaN) of bpnn train"
                raise DataError(f"{self.where}: column {self.features[column]!r} has NaN or "
                                f"infinity at row {start + row + 1} (of the data, 1-based)"
                                + hint)

    @property
    def in_memory(self):
        """Whether the features are an in-memory array (not streamed from files)."""
        source = self.X.source if isinstance(self.X, ColumnRows) else self.X
        return isinstance(source, ArrayRows)

    def split(self, fraction, seed, labels=None):
        """``(train rows, validation rows)``: a seeded random split of the row numbers.

        With ``labels`` (one per row) the split is stratified, as scikit-learn's early
        stopping splits: each class gives the validation rows its share of
        ``round(fraction * n_rows)``, the shares rounded by largest remainder.
        """
        order = np.random.default_rng(seed).permutation(self.n_rows)
        n_val = int(round(fraction * self.n_rows))
        if fraction > 0 and not 0 < n_val < self.n_rows:
            raise DataError(f"{self.where}: a validation fraction of {fraction} leaves "
                            f"{n_val} of {self.n_rows} rows for validation")
        if labels is None or n_val == 0:
            return np.sort(order[n_val:]), np.sort(order[:n_val])
        return _stratified(order, np.asarray(labels)[order], n_val)

    def features_of(self, rows):
        """The feature rows ``rows``: in memory, or a row source over the file (streamed)."""
        if self.in_memory:
            return self.X.take(rows)
        return SubsetRows(self.X, rows)

    def close(self):
        self.X.close()


def _stratified(order, labels, n_val):
    """The validation rows of a stratified split: ``order`` a random permutation of the
    rows, ``labels`` their labels in that order.  Class ``c`` of ``n_c`` rows gives
    ``floor(q_c)`` or ``ceil(q_c)`` of its first rows in ``order``, ``q_c = n_val n_c / n``,
    the ceilings going to the largest remainders so that the shares add up to ``n_val``."""
    classes, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    quota = n_val * counts / len(order)
    shares = np.floor(quota).astype(np.int64)
    by_remainder = np.argsort(-(quota - shares), kind="stable")
    shares[by_remainder[:n_val - int(shares.sum())]] += 1
    # each row's rank among the rows of its class, in the permuted order
    rank = np.empty(len(order), dtype=np.int64)
    for index in range(len(classes)):
        where = np.flatnonzero(inverse == index)
        rank[where] = np.arange(len(where))
    validation = rank < shares[inverse]
    return np.sort(order[~validation]), np.sort(order[validation])


class ColumnMoments:
    """Per-column count, mean and variance, accumulated block by block, stable and
    overflow-safe, in float64.

    The values are held as ``u = (x - K) / c``: ``K`` a shift per column (its
    first value, so that a narrow column on a large offset, timestamps in
    milliseconds, keeps all its digits) and ``c`` a power of two near the
    largest magnitude seen (dividing by it is exact, and ``|u| <= 4``, so no
    square overflows even near the float64 maximum).  Each block's mean and
    ``M2 = sum (u - mean)²`` come from two passes over the block, and Chan's
    parallel update merges them into the running ``(n, mean, M2)``::

        d = mean_b - mean,  n' = n + n_b
        mean' = mean + d n_b / n',  M2' = M2 + M2_b + d² n n_b / n'

    (Chan, Golub & LeVeque, 1979).  When a block raises ``c``, the running
    mean and ``M2`` are first rescaled by the ratio ``r <= 1`` (``r`` and ``r²``).
    Unlike ``E[x²] - mean²`` this loses no digits to the offset, and unlike a
    plain two-pass sum it never overflows.
    """

    def __init__(self, n_columns):
        self.n = 0
        self.shift = np.zeros(n_columns)  # K
        self.c = np.full(n_columns, np.finfo(np.float64).smallest_normal)
        self.mean = np.zeros(n_columns)
        self.m2 = np.zeros(n_columns)

    def add(self, block):
        """Merge the rows of a 2-D ``block`` into the statistics."""
        block = np.asarray(block, dtype=np.float64)
        n_b = block.shape[0]
        if n_b == 0:
            return
        if self.n == 0:
            self.shift = block[0].copy()
        c = np.maximum(_power_of_two_near(np.max(np.abs(block), axis=0)), self.c)
        ratio = self.c / c  # <= 1: the running statistics in units of the new scale
        self.mean, self.m2, self.c = self.mean * ratio, self.m2 * (ratio * ratio), c
        u = block / c - self.shift / c  # |x / c| < 2 and |K / c| < 2: no overflow
        mean_b = u.mean(axis=0)
        m2_b = np.sum(np.square(u - mean_b), axis=0)  # second pass: sum (u - mean_b)²
        n = self.n + n_b
        delta = mean_b - self.mean
        self.mean = self.mean + delta * (n_b / n)
        self.m2 = self.m2 + m2_b + delta * delta * (self.n * n_b / n)
        self.n = n

    def mean_and_std(self):
        """``(mean, std)`` as float64 arrays: ``K + c mean`` and the population standard
        deviation ``c sqrt(M2 / n)``, as ``numpy.mean`` and ``numpy.std`` give them."""
        if self.n == 0:
            raise InputError("no rows to take column statistics of")
        # K + c mean in quarters (exact scalings): c |mean| <= 4 c could overflow
        mean = (self.mean * (self.c * 0.25) + self.shift * 0.25) * 4.0
        return mean, np.sqrt(self.m2 / self.n) * self.c


def _power_of_two_near(values):
    """``c = 2^(e - 1)`` with ``values = m 2^e``, ``m`` in [0.5, 1) (``frexp``): a power of
    two with ``c <= values < 2c``, at most ``2^1023`` (finite); the smallest normal
    float64 for a column of zeros."""
    mantissa, exponent = np.frexp(values)
    tiny = np.finfo(np.float64).smallest_normal
    return np.where(mantissa > 0, np.ldexp(1.0, np.maximum(exponent - 1, -1022)), tiny)


def _scales(std):
    """The standard deviations as scales, with 1 for a constant column (std 0)."""
    return [value if value > 0 else 1.0 for value in std.tolist()]


def column_stats(source):
    """Per-column mean and standard deviation of a row source, read in chunks (a
    constant column gets a scale of 1); see :class:`ColumnMoments`."""
    moments = ColumnMoments(source.shape[1])
    for start in range(0, source.shape[0], _CHUNK):
        moments.add(source.take(np.arange(start, min(start + _CHUNK, source.shape[0]))))
    mean, std = moments.mean_and_std()
    return mean.tolist(), _scales(std)


def standardized(values):
    """``(values - mean) / std`` as one column, with the mean and std (1 for a constant),
    computed as :func:`column_stats` does (stable, finite up to the float64 maximum)."""
    values = np.asarray(values, dtype=np.float64)
    moments = ColumnMoments(1)
    moments.add(values.reshape(-1, 1))
    mean, std = moments.mean_and_std()
    mean, std = float(mean[0]), _scales(std)[0]
    return standardize_block(values.reshape(-1, 1), mean, std), mean, std


def standardize_block(block, mean, scale):
    """``(block - mean) / scale`` in float64, per column.

    ``x - mean`` overflows when the values reach near the float64 maximum with both
    signs; ``x/2 - mean/2`` cannot, and halving and doubling are exact.
    """
    block = np.asarray(block, dtype=np.float64)
    return (block / 2.0 - np.asarray(mean, dtype=np.float64) / 2.0) / scale * 2.0



def infer_task(y):
    """``"classification"`` for labels (text, booleans, or at most 20 distinct integers),
    else ``"regression"``."""
    if y.dtype.kind in "OUSb":
        return "classification"
    values = np.unique(y)
    if np.all(np.mod(values, 1) == 0) and len(values) <= MAX_AUTO_CLASSES:
        return "classification"
    return "regression"


def classes_of(y):
    """The sorted distinct labels, as JSON-able Python values."""
    return [value.item() if hasattr(value, "item") else value for value in np.unique(y)]


def encode_labels(y, classes, where):
    """One-hot rows of ``y`` over ``classes``; a label not among them is a DataError."""
    lookup = {str(label): index for index, label in enumerate(classes)}
    keys = [str(value.item() if hasattr(value, "item") else value) for value in y]
    unknown = sorted({key for key in keys if key not in lookup})
    if unknown:
        raise DataError(f"{where}: labels not seen in training: {unknown[:5]} (the model knows "
                        f"{[str(c) for c in classes]})")
    one_hot = np.zeros((len(keys), len(classes)))
    one_hot[np.arange(len(keys)), [lookup[key] for key in keys]] = 1.0
    return one_hot


def numeric_target(y, where, target, locate=None):
    """The target as float64 numbers, or a DataError naming the first bad row (and where
    ``locate(row)`` says it is in the file, :attr:`Table.locate`)."""
    row = _first_not_number(y)
    if row is not None:
        raise DataError(f"{where}: target column {target!r} has the non-numeric value "
                        f"{str(y[row])!r} at {_row(row, locate)}; use --task classification "
                        "for labels")
    values = y.astype(np.float64)
    bad = first_non_finite(values.reshape(-1, 1))
    if bad is not None:
        raise DataError(f"{where}: target column {target!r} has NaN or infinity at "
                        f"{_row(bad[0], locate)}")
    return values


def _row(row, locate=None):
    """``"row 3"``, with ``" (line 7)"`` where ``locate`` knows the line."""
    return f"row {row + 1}" + (f" ({locate(row)})" if locate is not None else "")


def read_table(path, target=None, require_target=True, *, sep=None, drop=(), id_column=None,
               missing=False, optional=False):
    """The :class:`Table` in ``path`` (CSV with a header row, Parquet, ``.npy``, ``.npz``,
    or a folder of ``.npy`` shards).  ``target`` names the target column (a header name;
    for arrays a column number, negative from the end); without ``require_target`` a
    target the data lacks is no error (predictions of new rows).

    ``sep`` is the CSV field separator (default ``,``; a tab for ``.tsv``).  ``drop``
    names columns to leave out, and ``id_column`` a column kept beside the features
    (:attr:`Table.ids`, as text) but not used by the model; both name the columns of a
    CSV or Parquet table (with ``optional``, those the table lacks are passed over:
    new rows to predict).  With ``missing`` an empty cell of a feature column is NaN
    (to be imputed) instead of an error.
    """
    path = pathlib.Path(path)
    if not path.is_dir():  # a FIFO, socket, device or link loop is refused, never opened
        os.close(open_regular(path, "a data file or a folder of .npy shards", DataError)[0])
    suffix = path.suffix.lower()
    layout = {"drop": list(drop or ()), "id_column": id_column, "missing": missing,
              "optional": optional}
    if suffix in (".parquet", ".pq"):
        return _parquet_table(path, target, require_target, layout)
    if suffix in (".csv", ".txt", ".tsv"):
        return _csv_table(path, target, require_target, layout, sep)
    if (layout["drop"] or id_column is not None) and not optional:
        raise DataError(f"{path}: --drop and --id name the columns of a CSV or Parquet "
                        "table; an array's columns have no names")
    if path.is_dir() or suffix == ".npy":
        source = _npy(path) if not path.is_dir() else _shards(path)
        return _array_table(source, target, str(path), require_target)
    if suffix == ".npz":
        return _npz_table(path, target, require_target)
    raise DataError(f"{path}: unknown data format {suffix!r}; bpnn reads .csv, .parquet, .npy, "
                    ".npz and folders of .npy shards")


def _npy(path):
    """The rows of one ``.npy`` file; a file that is not one is a DataError."""
    try:
        return npy_rows(path)
    except ValueError as error:  # bpnn.data.rows's: a header, dtype or size it cannot read
        raise DataError(str(error)) from None


def _shards(path):
    shards = sorted(path.glob("*.npy"))
    if not shards:
        raise DataError(f"{path}: the folder holds no .npy shards")
    try:
        return ShardRows([_npy(shard) for shard in shards], where=str(path))
    except ValueError as error:  # a DataError already, or the row reader's ValueError
        raise DataError(str(error)) from None


def _target_index(target, names, where, require_target, by_position=False):
    """The target's column: a name first; a column number only where the columns have
    no names (``by_position``: arrays), negative from the end."""
    if target is None:
        if require_target:
            raise DataError(f"{where}: name the target column with --target (columns: "
                            f"{_listing(names)})")
        return None
    if target in names:
        return names.index(target)
    index = _position(target) if by_position else None
    if index is not None and -len(names) <= index < len(names):
        return index % len(names)
    if not require_target:  # an optional target that this data does not have
        return None
    raise DataError(f"{where}: no column {target!r}; the columns are {_listing(names)}")


def _position(target):
    """``target`` as a column number, or None."""
    try:
        return int(target)
    except ValueError:
        return None


def _listing(names):
    shown = ", ".join(repr(name) for name in names[:12])
    return shown + (f", ... ({len(names)} in all)" if len(names) > 12 else "")


def _array_table(source, target, where, require_target):
    if source.dtype_name not in ("float32", "float64") and not source.dtype_name.startswith(
            ("int", "uint")):
        raise DataError(f"{where}: expected numbers, got dtype {source.dtype_name}")
    names = [str(index) for index in range(source.shape[1])]
    index = _target_index(target, names, where, require_target, by_position=True)
    if index is None:
        return Table(source, names, None, None, where, by_position=True)
    y = np.concatenate([source.take(np.arange(start, min(start + _CHUNK, source.shape[0])))
                        [:, index] for start in range(0, source.shape[0], _CHUNK)])
    features = [column for column in range(source.shape[1]) if column != index]
    return Table(ColumnRows(source, features), [names[c] for c in features], y, names[index],
                 where, by_position=True)


def _npz_table(path, target, require_target):
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (ValueError, OSError) as error:
        raise DataError(f"{path}: not a readable .npz file ({error})") from None
    if "X" in arrays:
        X = arrays["X"]
        if X.ndim != 2 or X.dtype.kind not in "biuf":
            raise DataError(f"{path}: X must be a 2-D array of numbers, got shape {X.shape}, "
                            f"dtype {X.dtype}")
        y = arrays.get("y")
        if y is None and require_target:
            raise DataError(f"{path}: the archive has X but no y")
        names = [str(index) for index in range(X.shape[1])]
        return Table(ArrayRows(X, where=str(path)), names, None if y is None else y.reshape(-1),
                     "y" if y is not None else None, str(path), by_position=True)
    if len(arrays) != 1:
        raise DataError(f"{path}: expected arrays X and y, or a single 2-D array; found "
                        f"{sorted(arrays)}")
    (array,) = arrays.values()
    if array.ndim != 2:
        raise DataError(f"{path}: expected a 2-D array, got shape {array.shape}")
    return _array_table(ArrayRows(array, where=str(path)), target, str(path), require_target)


def _parquet_table(path, target, require_target, layout):
    try:
        import pyarrow.parquet as parquet
    except ImportError:
        raise DataError(f"{path}: reading Parquet needs pyarrow (pip install pyarrow)") from None
    try:
        table = parquet.read_table(path)
    except Exception as error:  # pyarrow raises its own error types
        raise DataError(f"{path}: not a readable Parquet file ({error})") from None
    names = list(table.column_names)
    columns = {name: table.column(name).to_numpy(zero_copy_only=False) for name in names}
    return _columns_table(columns, names, target, str(path), require_target, layout)


def _csv_table(path, target, require_target, layout, sep=None):
    delimiter = sep if sep else "\t" if path.suffix.lower() == ".tsv" else ","
    if len(delimiter) != 1:
        raise DataError(f"--sep must be one character, got {delimiter!r}")
    descriptor = open_regular(path, "a CSV file", DataError)[0]  # checked again, as opened
    with os.fdopen(descriptor, newline="", encoding="utf-8-sig") as file:
        reader = csv.reader(file, delimiter=delimiter)
        try:
            names, rows, lines = _csv_rows(reader, path)
        except csv.Error as error:  # a field over csv.field_size_limit(), a NUL byte...
            raise DataError(f"{path}: line {reader.line_num}: not readable as CSV "
                            f"({error})") from None
        except UnicodeDecodeError:
            raise DataError(_not_utf8(path)) from None
    if not rows:
        raise DataError(f"{path}: no data rows under the header")
    cells = np.array(rows, dtype=object)
    columns = {name: cells[:, index] for index, name in enumerate(names)}
    try:
        return _columns_table(columns, names, target, str(path), require_target, layout,
                              lambda row: f"line {lines[row]}")
    except DataError as error:
        raise DataError(str(error) + _separator_hint(names, delimiter, sep)) from None


def _separator_hint(names, delimiter, sep):
    """A hint for a file separated by another character than the one read with: a column
    name holding ``;``, a tab or ``|`` (the whole header read as one name, say)."""
    if sep:
        return ""
    for other, said in ((";", "';'"), ("\t", "a tab"), ("|", "'|'")):
        if other != delimiter and any(other in name for name in names):
            option = "--sep $'\\t'" if other == "\t" else f"--sep '{other}'"
            return (f" (the column name {next(n for n in names if other in n)!r} holds "
                    f"{said}: if the file is separated by {said}, give {option})")
    return ""


def _csv_rows(reader, path):
    """The header's names, the data rows, and the physical line each row starts on
    (blank lines and newlines inside quoted fields counted)."""
    header = next(reader, None)
    if not header:
        raise DataError(f"{path}: the file is empty (a header row is needed)")
    names = [name.strip() for name in header]
    rows, lines = [], []
    start = reader.line_num + 1
    for row in reader:
        if row and any(cell.strip() for cell in row):
            if len(row) != len(names):
                raise DataError(f"{path}: line {start} has {len(row)} fields, the header has "
                                f"{len(names)}")
            rows.append(row)
            lines.append(start)
        start = reader.line_num + 1
    return names, rows, lines


def _not_utf8(path):
    """The message for a file that is not UTF-8 text: its first such line and byte."""
    with os.fdopen(open_regular(path, "a CSV file", DataError)[0], "rb") as file:
        for number, line in enumerate(file, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as error:
                return (f"{path}: line {number}, byte {error.start + 1}: not UTF-8 text "
                        f"({error.reason}); save the file as UTF-8")
    return f"{path}: not UTF-8 text; save the file as UTF-8"


def _columns_table(columns, names, target, where, require_target, layout, locate=None):
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise DataError(f"{where}: the header names the columns {_listing(repeated)} more than "
                        "once; give each column its own name")
    index = _target_index(target, names, where, require_target)
    target_name = None if index is None else names[index]
    id_column, drop = layout["id_column"], layout["drop"]
    if layout.get("optional"):  # predict: the columns the model set aside, where present
        drop = [name for name in drop if name in names and name != target_name]
        id_column = id_column if id_column in names and id_column != target_name else None
    for name in [*drop, *([] if id_column is None else [id_column])]:
        if name not in names:
            raise DataError(f"{where}: no column {name!r} (of --drop or --id); the columns "
                            f"are {_listing(names)}")
        if name == target_name:
            raise DataError(f"{where}: {name!r} is the target column; it cannot be dropped "
                            "or be the id")
    set_aside = {target_name, id_column, *drop}
    features = [name for name in names if name not in set_aside]
    if not features:
        raise DataError(f"{where}: no feature columns besides the target")
    X = np.empty((len(columns[names[0]]), len(features)))
    for position, name in enumerate(features):
        X[:, position] = _numbers(columns[name], name, where, locate or _row,
                                  layout["missing"])
    y = None
    if target_name is not None:
        y = columns[target_name]
        if y.dtype == object:
            y = np.array([cell.strip() if isinstance(cell, str) else cell for cell in y])
            if _first_not_number(y) is None:  # else text labels
                y = y.astype(np.float64)
    table = Table(ArrayRows(X, where=where), features, y, target_name, where, locate=locate)
    if id_column is not None:
        table.ids = [str(cell.strip() if isinstance(cell, str) else cell)
                     for cell in columns[id_column]]
    return table


def _numbers(values, name, where, locate, missing=False):
    """A column as float64, or a DataError naming the first cell that is not a number;
    with ``missing``, an empty cell (or NaN) is NaN instead."""
    if values.dtype.kind in "biuf":
        numbers = values.astype(np.float64)
    else:
        numbers = np.empty(len(values))
        for row, cell in enumerate(values):
            text = cell.strip() if isinstance(cell, str) else cell
            if text in ("", None) and missing:
                numbers[row] = np.nan
                continue
            if text in ("", None):
                raise DataError(f"{where}: column {name!r} has a missing value at {locate(row)}; "
                                "--impute fills missing values with the training column's "
                                "median")
            if not _is_number(text):
                raise DataError(f"{where}: column {name!r} has the non-numeric value {text!r} at "
                                f"{locate(row)}")
            numbers[row] = float(text)
    bad = np.flatnonzero(np.isinf(numbers) if missing else ~np.isfinite(numbers))
    if len(bad):
        what = "NaN" if np.isnan(numbers[bad[0]]) else "an infinite value"
        raise DataError(f"{where}: column {name!r} has {what} at {locate(bad[0])}")
    return numbers


def _first_not_number(cells):
    """The index of the first cell that is not a number as a table writes one (text
    matching :data:`_NUMBER`, or a real number), or None."""
    if getattr(cells, "dtype", None) is not None and cells.dtype.kind in "biuf":
        return None
    for row, cell in enumerate(cells):
        if not _is_number(cell):
            return row
    return None


def _is_number(cell):
    if isinstance(cell, (str, np.str_)):
        return _NUMBER.fullmatch(cell.strip()) is not None
    return isinstance(cell, (int, float, np.integer, np.floating)) and not isinstance(
        cell, (bool, np.bool_))
