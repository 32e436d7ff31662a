"""Layers: each ``forward(xp, X, *, training=False, rng=None)`` returns ``(Y, backprop)``.

A new layer is one file: a :class:`Layer` subclass decorated with
:func:`register_layer`, its ``config_types`` declared, imported here.
"""

from .activation import Activation
from .base import LAYERS, Layer, device_of, register_layer
from .dense import Dense
from .dropout import Dropout
from .rbf import RBF
from .standardize import Standardize

__all__ = ["LAYERS", "Activation", "Dense", "Dropout", "Layer", "RBF", "Standardize",
           "device_of", "register_layer"]
