"""A layer of Gaussian radial basis units: the hidden layer of an RBF network."""

from __future__ import annotations

from ..errors import InputError
from ..validation import positive_int
from .base import Layer, register_layer


@register_layer
class RBF(Layer):
    """Gaussian radial basis units with trainable centres and widths.

    ``Y[n, j] = exp(-||X[n] - C[j]||² / (2 sigma[j]²))``

    Parameters
    ----------
    n_in : int
        Number of inputs.
    n_centres : int
        Number of radial basis units.
    centre_range : float, default 1.0
        Initial centres are drawn uniformly from ``[-centre_range, centre_range)``
        in every input dimension (inputs scaled to about ``[-1, 1]`` suit the default).
    width : float, default 1.0
        Initial width ``sigma`` of every unit.

    Notes
    -----
    With ``D2 = ||X - C||²`` (expanded as ``|X|² - 2 X C^T + |C|²``, one matrix
    product), ``A = D2 / (2 sigma²)`` and ``Y = exp(-A)``::

        dA = -dY Y,   H = dL/dD2 = dA / (2 sigma²)
        dX = 2 (X rowsum(H) - H C),   dC = -2 (H^T X - colsum(H) C)
        dsigma = -colsum(dA D2) / sigma³
    """

    param_names = ("C", "sigma")
    traced_by_config = True
    config_types = {"n_in": int, "n_centres": int, "centre_range": float, "width": float}

    def __init__(self, n_in, n_centres, centre_range=1.0, width=1.0):
        super().__init__()
        self.n_in = positive_int(n_in, "n_in")
        self.n_out = positive_int(n_centres, "n_centres")
        self.centre_range = float(centre_range)
        self.width = float(width)
        if not self.width > 0:
            raise InputError(f"width must be positive, got {width!r}")

    @property
    def C(self):
        """The centres, ``(n_centres, n_in)``."""
        return self.params[0]

    @property
    def sigma(self):
        """The widths, ``(n_centres,)``."""
        return self.params[1]

    def param_shapes(self):
        return [(self.n_out, self.n_in), (self.n_out,)]

    def build(self, rng, dtype, next_activation=None):
        r = self.centre_range
        C = rng.uniform((self.n_out, self.n_in), dtype, low=-r, high=r)
        xp = rng.backend.xp
        sigma = xp.full((self.n_out,), self.width, dtype=dtype, device=rng.backend.device)
        self.params = [C, sigma]

    def forward(self, xp, X, *, training=False, rng=None):
        C, sigma = self.params
        D2 = xp.sum(X * X, axis=1, keepdims=True) - 2.0 * (X @ C.T) + xp.sum(C * C, axis=1)
        D2 = xp.maximum(D2, 0.0)  # rounding can make the expanded form slightly negative
        G = 0.5 / (sigma * sigma)
        Y = xp.exp(-(D2 * G))

        def backprop(dY, need_dX=True):
            dA = -(dY * Y)
            H = dA * G
            dsigma = -xp.sum(dA * D2, axis=0) / (sigma * sigma * sigma)
            dC = -2.0 * (H.T @ X - xp.reshape(xp.sum(H, axis=0), (-1, 1)) * C)
            dX = 2.0 * (X * xp.sum(H, axis=1, keepdims=True) - H @ C) if need_dX else None
            return dX, (dC, dsigma)

        return Y, backprop

    def config(self):
        return {"n_in": self.n_in, "n_centres": self.n_out, "centre_range": self.centre_range,
                "width": self.width}
