"""A fixed input layer: the column standardization of the data, kept with the model."""

from __future__ import annotations

import math

from ..errors import InputError
from ..validation import positive_int
from .base import Layer, register_layer


@register_layer
class Standardize(Layer):
    """``Y = (X - mean) / scale`` per column, with ``mean`` and ``scale`` fixed (not trained).

    Put first, it lets a model take raw data: the statistics of the training
    data travel with the model file, as a chemist would otherwise apply them
    by hand.  ``mean`` and ``scale`` are buffers: saved and loaded with the
    weights, never changed by an optimizer.

    Parameters
    ----------
    n_features : int
    mean, scale : sequence of float, optional
        Per-column statistics (default 0 and 1); a scale of 0 (a constant
        column) is taken as 1.  Compute them in float64 with a stable method
        (``bpnn train`` does, by Chan's parallel update; ``numpy.std`` does, up
        to magnitudes of about 1e154).

    Raises
    ------
    ValueError
        A ``mean`` or ``scale`` of the wrong length, or NaN or infinite (an
        infinite scale would map the column to zeros).
    """

    buffer_names = ("mean", "scale")
    config_types = {"n_features": int}

    def __init__(self, n_features, mean=None, scale=None):
        super().__init__()
        self.n_in = self.n_out = positive_int(n_features, "n_features")
        self._mean = None if mean is None else [float(value) for value in mean]
        self._scale = None if scale is None else [float(value) or 1.0 for value in scale]
        for values, name in ((self._mean, "mean"), (self._scale, "scale")):
            if values is not None and len(values) != self.n_in:
                raise InputError(f"{name} has {len(values)} values for {self.n_in} features")
            _check_finite(values, name)

    def buffer_shapes(self):
        return [(self.n_in,), (self.n_in,)]

    def build(self, rng, dtype, next_activation=None):
        backend = rng.backend
        mean = self._mean if self._mean is not None else [0.0] * self.n_in
        scale = self._scale if self._scale is not None else [1.0] * self.n_in
        self.buffers = [backend.asarray(mean, dtype=dtype), backend.asarray(scale, dtype=dtype)]

    def forward(self, xp, X, *, training=False, rng=None):
        mean, scale = self.buffers
        Y = (X - mean) / scale

        def backprop(dY, need_dX=True):
            return (dY / scale if need_dX else None), ()

        return Y, backprop

    def config(self):
        return {"n_features": self.n_in}


def _check_finite(values, name):
    """Refuse a NaN or infinite statistic, naming its column (``values`` may be None)."""
    for column, value in enumerate(values or ()):
        if not math.isfinite(value):
            raise InputError(f"{name} of column {column} is {value}; the statistics must be "
                             "finite (compute them in float64 with a stable method)")
