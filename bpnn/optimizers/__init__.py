"""Gradient-descent optimizers: SGD (with momentum and Nesterov), Adam and RMSprop.

Each optimizer is one file of this package and one line of :data:`OPTIMIZERS`;
:mod:`bpnn.optimizers.base` says what a step may assume and must do.
"""

from __future__ import annotations

from ..registry import lookup
from .adam import Adam
from .base import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

#: ``{name: class}`` of the optimizers a name may ask for (and a checkpoint may name)
OPTIMIZERS = {cls.name: cls for cls in (SGD, Adam, RMSprop)}


def get_optimizer(optimizer, **params):
    """An optimizer by name (``"sgd"``, ``"adam"``, ``"rmsprop"``) with keyword arguments,
    or an instance.

    Raises
    ------
    InputError
        (a ``ValueError``) for an unknown name or parameter.
    """
    return lookup(optimizer, OPTIMIZERS, Optimizer, "optimizer", **params)


__all__ = ["OPTIMIZERS", "SGD", "Adam", "Optimizer", "RMSprop", "get_optimizer"]
