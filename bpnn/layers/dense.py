"""A fully connected layer: ``Y = X W + b``.

In the seed's notation ``w_{p,i}^{(j)}`` joins neuron ``p`` of layer ``j-1``
to neuron ``i`` of layer ``j``: that is ``W[p, i]``, and the bias unit
``x_0 = 1`` with its weights ``w_{0,i}`` is ``b[i]``.
"""

from __future__ import annotations

from ..initializers import default_initializer, get_initializer
from ..validation import positive_int
from .base import Layer, register_layer


@register_layer
class Dense(Layer):
    """Affine layer ``Y = X W + b`` with ``W`` of shape ``(n_in, n_out)``.

    Parameters
    ----------
    n_in : int
        Number of inputs (neurons of the layer below, bias unit excluded).
    n_out : int
        Number of units.
    init : str or Initializer, optional
        Weight initializer; by default the one that suits the activation that
        follows (Glorot for sigmoid-like, He for ReLU-like).

    Notes
    -----
    Backward, for ``dY = dL/dY``::

        dW = X^T dY,   db = sum_rows dY,   dX = dY W^T
    """

    param_names = ("W", "b")
    traced_by_config = True
    penalized = ("W",)
    config_types = {"n_in": int, "n_out": int}

    def __init__(self, n_in, n_out, init=None):
        super().__init__()
        self.n_in = positive_int(n_in, "n_in")
        self.n_out = positive_int(n_out, "n_out")
        self.init = None if init is None else get_initializer(init)

    @property
    def W(self):
        """The weights, ``(n_in, n_out)``."""
        return self.params[0]

    @property
    def b(self):
        """The biases, ``(n_out,)``."""
        return self.params[1]

    def build(self, rng, dtype, next_activation=None):
        init = self.init if self.init is not None else default_initializer(next_activation)
        fans = (self.n_in, self.n_out)
        W = init(rng, (self.n_in, self.n_out), dtype, fans)
        b = init.bias(rng, (self.n_out,), dtype, fans)  # drawn after W: the seed's order
        self.params = [W, b]

    def param_shapes(self):
        return [(self.n_in, self.n_out), (self.n_out,)]

    def forward(self, xp, X, *, training=False, rng=None):
        W, b = self.params
        Y = X @ W
        Y += b  # in place on the fresh product: one array allocated, not two

        def backprop(dY, need_dX=True):
            dW = X.T @ dY
            db = xp.sum(dY, axis=0)
            dX = dY @ W.T if need_dX else None
            return dX, (dW, db)

        return Y, backprop

    def config(self):
        config = {"n_in": self.n_in, "n_out": self.n_out}
        if self.init is not None:
            config["init"] = self.init
        return config

