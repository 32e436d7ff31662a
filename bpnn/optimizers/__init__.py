"""Gradient-descent optimizers: SGD (with momentum and Nesterov), Adam and RMSprop.

Each optimizer is one file of this package whose class joins :data:`OPTIMIZERS` with
``@register_optimizer``, and one import line here; :mod:`bpnn.optimizers.base` says
what a step may assume and must do.
"""

from __future__ import annotations

from ..registry import lookup
from .adam import Adam
from .base import OPTIMIZERS, Optimizer, register_optimizer
from .rmsprop import RMSprop
from .sgd import SGD


def get_optimizer(optimizer, **params):
    """An optimizer by name (``"sgd"``, ``"adam"``, ``"rmsprop"``) with keyword arguments,
    or an instance.

    Raises
    ------
    InputError
        (a ``ValueError``) for an unknown name or parameter.
    """
    return lookup(optimizer, OPTIMIZERS, Optimizer, "optimizer", **params)


__all__ = ["OPTIMIZERS", "SGD", "Adam", "Optimizer", "RMSprop", "get_optimizer",
           "register_optimizer"]
