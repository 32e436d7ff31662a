"""The seed tutorial's two data sets, made in plain Python (identical on every backend)."""

from __future__ import annotations

import math


def _arange(start, stop, step):
    """``numpy.arange(start, stop, step)`` for floats: ``start + i * step``."""
    count = max(0, math.ceil((stop - start) / step))
    return [start + i * step for i in range(count)]


def sin_regression():
    """The 1-3-1 regression data: ``x = arange(0, 2 pi, 0.1)``, target ``sin x``.

    Returns
    -------
    X : list of [float], 63 rows
        ``x`` scaled to ``[-1, 1)`` as ``(x - pi) / pi``.
    T : list of [float]
        ``sin(x)``.
    """
    xs = _arange(0.0, 2.0 * math.pi, 0.1)
    return [[(x - math.pi) / math.pi] for x in xs], [[math.sin(x)] for x in xs]


def sin_classification():
    """The 2-6-2 classification data: points above or below a sine wave.

    The grid is ``arange(-1.0, 1.1, 0.1)`` on both axes (441 points); a point
    ``(x, y)`` below ``sin(pi x)`` is labelled ``[0, 1]``, else ``[1, 0]``.

    Returns
    -------
    X : list of [float, float]
    T : list of [int, int]
        One-hot labels.
    """
    grid = _arange(-1.0, 1.1, 0.1)
    X, T = [], []
    for x in grid:
        for y in grid:
            X.append([x, y])
            T.append([0, 1] if y < math.sin(math.pi * x) else [1, 0])
    return X, T
