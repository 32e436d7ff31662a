"""Layers: each ``forward(xp, X)`` returns ``(Y, backprop)``."""

from .activation import Activation
from .base import Layer
from .dense import Dense
from .rbf import RBF
from .standardize import Standardize

__all__ = ["Activation", "Dense", "Layer", "RBF", "Standardize"]
