"""A layer that applies an activation function elementwise (row-wise for softmax)."""

from __future__ import annotations

from ..activations import get_activation
from .base import Layer, register_layer


@register_layer
class Activation(Layer):
    """``Y = f(X)`` for an activation ``f`` of :mod:`bpnn.activations`.

    Parameters
    ----------
    activation : str or ActivationFunction
        Name (``"sigmoid"``, ``"relu"``, ``"softmax"``...) or instance.
    **params
        The activation's hyper-parameters (``alpha`` for leaky_relu, elu).
    """

    traced_by_config = True

    @classmethod
    def config_schema(cls, config):
        """The activation's name and its float hyper-parameters (``alpha``...), whichever
        ``config`` holds; the activation registry then checks the name and the keys."""
        return {"activation": str, **{key: float for key in config if key != "activation"}}

    def __init__(self, activation, **params):
        super().__init__()
        self.function = get_activation(activation, **params)

    @property
    def name(self):
        """The activation's registry name."""
        return self.function.name

    def trace_key(self):
        key = super().trace_key()  # and the function's class: its name alone may repeat
        return key + (type(self.function),)

    def forward(self, xp, X, *, training=False, rng=None):
        f = self.function
        Y = f.forward(xp, X)

        def backprop(dY, need_dX=True):
            return f.backward(xp, dY, X, Y), ()

        return Y, backprop

    def config(self):
        return {"activation": self.function.name, **self.function.config()}
