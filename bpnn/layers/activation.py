"""A layer that applies an activation function elementwise (row-wise for softmax)."""

from __future__ import annotations

from ..activations import get_activation
from .base import Layer


class Activation(Layer):
    """``Y = f(X)`` for an activation ``f`` of :mod:`bpnn.activations`.

    Parameters
    ----------
    activation : str or ActivationFunction
        Name (``"sigmoid"``, ``"relu"``, ``"softmax"``...) or instance.
    **params
        The activation's hyper-parameters (``alpha`` for leaky_relu, elu).
    """

    def __init__(self, activation, **params):
        super().__init__()
        self.function = get_activation(activation, **params)

    @property
    def name(self):
        """The activation's registry name."""
        return self.function.name

    def forward(self, xp, X):
        f = self.function
        Y = f.forward(xp, X)

        def backprop(dY, need_dX=True):
            return f.backward(xp, dY, X, Y), ()

        return Y, backprop

    def config(self):
        return {"activation": self.function.name, **self.function.config()}
