"""Column statistics at the float range's edges: a narrow column on a large offset
(timestamps in milliseconds), magnitudes of 1e154 and 1e300, constant columns,
statistics merged over streamed blocks; checked against NumPy's float64 two-pass
``numpy.mean`` / ``numpy.std``, and through the ``Standardize`` layer on every backend."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from bpnn import Network
from bpnn.data.rows import ArrayRows
from bpnn.tabular.tables import ColumnMoments, column_stats, standardized
from bpnn.cli import main
from bpnn.layers import Standardize

N = 3000


def _columns(seed=0):
    """A column shifted by 1e12 with spread 1e-1, columns of magnitude 1e154 and 1e300,
    a constant, and a column of zeros (float64, host)."""
    rng = np.random.default_rng(seed)
    return np.column_stack([
        1e12 + rng.normal(0.0, 0.1, N),
        rng.normal(2.0, 1.0, N) * 1e154,
        rng.normal(-3.0, 1.0, N) * 1e300,
        np.full(N, 7.5),
        np.zeros(N),
    ])


def _reference(X):
    """NumPy's float64 two-pass mean and std of each column, computed on the column as it
    is divided by a power of two that keeps its squares finite (exact), then scaled back.
    One contiguous column at a time: NumPy sums those pairwise (along axis 0 of a 2-D
    array it adds row after row, and the 1e12 column's mean loses its last digits)."""
    means, stds = [], []
    for column in X.T:
        c = float(np.ldexp(1.0, np.frexp(max(float(np.max(np.abs(column))), 1e-300))[1] - 1))
        scaled = np.ascontiguousarray(column) / c
        means.append(np.mean(scaled) * c)
        stds.append(np.std(scaled) * c)
    return np.array(means), np.array(stds)


class _Rows:
    """A minimal row source (``shape``, ``take``): what ``column_stats`` reads in blocks."""

    def __init__(self, X):
        self.X, self.shape = X, X.shape

    def take(self, indices):
        return self.X[indices]


def _assert_unit_std(backend, X, mean, scale):
    """The Standardize layer with these statistics, on ``backend`` in float64, maps the
    non-constant columns of ``X`` to std 1 (within 1e-6) and the constant ones to 0."""
    net = Network([Standardize(X.shape[1], mean, scale)], loss="mse", backend=backend.name,
                  dtype="float64", seed=0)
    Y = net.predict(X)
    assert Y.dtype == backend.xp.float64
    Y = backend.to_numpy(Y)
    assert np.all(np.isfinite(Y))
    std = np.array([np.std(np.ascontiguousarray(column)) for column in Y.T])
    constant = np.array([np.all(column == column[0]) for column in X.T])
    np.testing.assert_allclose(std[~constant], 1.0, rtol=1e-6)
    assert np.all(Y[:, constant] == 0.0)


def _stream(X, size):
    moments = ColumnMoments(X.shape[1])
    for start in range(0, X.shape[0], size):
        moments.add(X[start:start + size])
    return moments.mean_and_std()


@pytest.mark.parametrize("size", [N, 1000, 7, 1])
def test_moments_match_numpy_on_shifted_and_huge_columns(backend, size):
    X = _columns()
    mean, std = _stream(X, size)
    ref_mean, ref_std = _reference(X)
    assert mean.dtype == std.dtype == np.float64
    assert np.all(np.isfinite(mean)) and np.all(np.isfinite(std))
    np.testing.assert_allclose(std, ref_std, rtol=1e-6, atol=0.0)
    np.testing.assert_allclose(mean, ref_mean, rtol=1e-12, atol=0.0)
    assert std[3] == std[4] == 0.0 and mean[3] == 7.5 and mean[4] == 0.0
    _assert_unit_std(backend, X, mean.tolist(), [s if s > 0 else 1.0 for s in std.tolist()])


def test_column_stats_gives_finite_scales_and_keeps_scale_one_for_constants(backend):
    X = _columns(1)
    x = np.ascontiguousarray(X[:, 0])  # what E[x²] - mean² makes of the offset column:
    naive = np.sqrt(max(np.mean(x * x) - np.mean(x) ** 2, 0.0))
    assert not 0.1 < naive / np.std(x) < 10.0  # off by orders of magnitude
    mean, scale = column_stats(ArrayRows(X))
    ref_mean, ref_std = _reference(X)
    np.testing.assert_allclose(scale[:3], ref_std[:3], rtol=1e-6)
    np.testing.assert_allclose(mean, ref_mean, rtol=1e-12)
    assert scale[3:] == [1.0, 1.0]
    assert all(np.isfinite(scale)) and all(s > 0 for s in scale)
    _assert_unit_std(backend, X, mean, scale)


def test_values_near_the_float64_maximum_of_both_signs(backend):
    rng = np.random.default_rng(2)
    x = rng.uniform(-1.0, 1.0, N) * 1.6e308  # x - mean itself can overflow
    mean, std = _stream(x.reshape(-1, 1), 500)
    ref_mean, ref_std = _reference(x.reshape(-1, 1))
    np.testing.assert_allclose(std, ref_std, rtol=1e-9)
    np.testing.assert_allclose(mean, ref_mean, rtol=1e-9, atol=1e-9 * ref_std[0])
    T, t_mean, t_std = standardized(x)
    assert np.all(np.isfinite(T)) and np.isfinite(t_mean) and np.isfinite(t_std)
    np.testing.assert_allclose(np.std(T), 1.0, rtol=1e-6)
    # the layer's x - mean overflows here (|x - mean| can pass the float64 maximum):
    # checked on the halved column, whose statistics are exactly half
    if backend.name == "jax":
        pytest.skip("XLA on the CPU divides by multiplying with the reciprocal, and the "
                    "reciprocal of a scale above 4.49e307 is subnormal, which it flushes "
                    "to zero (bpnn train standardizes on the host in NumPy instead)")
    _assert_unit_std(backend, x.reshape(-1, 1) / 2, [mean[0] / 2], [std[0] / 2])


@pytest.mark.parametrize("column", [0, 1, 2])
def test_standardized_target_matches_numpy(backend, column):
    values = _columns(3)[:, column]
    T, mean, std = standardized(values)
    ref_mean, ref_std = _reference(values.reshape(-1, 1))
    assert T.shape == (N, 1) and T.dtype == np.float64
    np.testing.assert_allclose([mean, std], [ref_mean[0], ref_std[0]], rtol=1e-6)
    np.testing.assert_allclose(np.std(T), 1.0, rtol=1e-6)
    _assert_unit_std(backend, values.reshape(-1, 1), [mean], [std])


def test_standardized_constant_target_keeps_scale_one(backend):
    T, mean, std = standardized(np.full(10, 1e200))
    assert (mean, std) == (1e200, 1.0) and np.all(T == 0.0)
    _assert_unit_std(backend, np.full((10, 1), 1e200), [mean], [std])


def test_streamed_column_stats_match_in_memory(backend):
    X = np.tile(_columns(4), (30, 1))  # 90000 rows: more than one block of column_stats
    streamed = column_stats(_Rows(X))
    ref_mean, ref_std = _reference(X)
    np.testing.assert_allclose(streamed[0], ref_mean, rtol=1e-12)
    np.testing.assert_allclose(streamed[1][:3], ref_std[:3], rtol=1e-6)
    _assert_unit_std(backend, X[:3000], *column_stats(ArrayRows(X[:3000])))


@pytest.mark.parametrize("bad", [float("inf"), float("nan")])
def test_standardize_refuses_non_finite_statistics(bad):
    with pytest.raises(ValueError, match="scale of column 1 is"):
        Standardize(2, [0.0, 0.0], [1.0, bad])
    with pytest.raises(ValueError, match="mean of column 0 is"):
        Standardize(2, [bad, 0.0], [1.0, 1.0])


def _timestamp_table(path):
    """One second of millisecond timestamps (offset 1.7e12) and a smooth target of them:
    ``E[t²] - mean²`` gives the column a scale of 1 instead of about 286."""
    rng = np.random.default_rng(1)
    t = 1.7e12 + rng.uniform(0.0, 1000.0, 400)
    u = (t - 1.7e12) / 1000.0
    y = np.sin(2.0 * np.pi * u) + 0.5 * u
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["t_ms", "y"])
        writer.writerows(zip(t.tolist(), y.tolist()))
    return t


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_regression_on_millisecond_timestamps(backend, tmp_path, capsys, dtype):
    """float32 too: a float32 of 1.7e12 is a multiple of 131072, so the column is
    standardized on the host in float64 before the network's dtype sees it (a cast
    first left it at a few distinct values: R² about 0)."""
    t = _timestamp_table(tmp_path / "ts.csv")
    naive = np.sqrt(max(np.mean(t * t) - np.mean(t) ** 2, 0.0))
    assert abs(naive - np.std(t)) > 0.5 * np.std(t)  # the data defeats the one-pass formula
    model = tmp_path / "ts.bpnn"
    assert main(["train", str(tmp_path / "ts.csv"), "--target", "y", "--epochs", "60",
                 "--dtype", dtype, "--backend", backend.name, "--validation-fraction", "0",
                 "--out", str(model), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(model), str(tmp_path / "ts.csv"),
                 "--backend", backend.name]) == 0
    r2 = float(capsys.readouterr().out.split("R² ")[1].split(",")[0])
    assert r2 > 0.95  # 0.21 with E[x²] - mean²
