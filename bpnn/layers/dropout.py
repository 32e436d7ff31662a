"""Inverted dropout: random units set to zero in training, the identity at inference."""

from __future__ import annotations

import math
import numbers

from ..errors import InputError
from .base import Layer, register_layer


@register_layer
class Dropout(Layer):
    """In training, ``Y = X * mask / (1 - rate)``; at inference, ``Y = X``.

    Each entry of ``mask`` is 1 with probability ``1 - rate`` and 0 otherwise,
    drawn afresh every training step, so ``E[Y] = X``: the layer needs no
    rescaling at inference (inverted dropout, Srivastava et al., 2014).

    Parameters
    ----------
    rate : float
        The probability of dropping a unit, in ``[0, 1)``; 0 makes the layer the
        identity (and draws nothing).

    Raises
    ------
    InputError
        ``rate`` outside ``[0, 1)``, not a number, or NaN.

    Notes
    -----
    Backward, with ``M = mask / (1 - rate)``::

        dX = dY * M

    The mask is drawn on the host from the run's seeded stream (the ``rng`` a
    training step passes, ``network.rng``): one float32 uniform per entry of
    ``X`` and a comparison, so one seed gives the same masks, and the same run,
    on every backend, and a checkpoint (which saves the stream's state)
    resumes bit for bit.  What it costs on a GPU: every training step draws
    ``batch x width`` uniforms on the CPU and copies the mask to the device as
    booleans, one byte an entry (a batch of 128 rows of 1024 units is 128 KiB,
    a few microseconds over PCIe), where it is cast to the model's dtype and
    scaled.  It is kept small by shipping booleans, not floats (4 to 8 times
    fewer bytes), drawing float32 uniforms (half the random bits of float64),
    and drawing nothing at all at inference or with ``rate=0``.
    """

    config_types = {"rate": float}
    stochastic = True

    def __init__(self, rate):
        super().__init__()
        if isinstance(rate, bool) or not isinstance(rate, numbers.Real):
            raise InputError(f"rate must be a number in [0, 1), got {rate!r}")
        rate = float(rate)
        if not (math.isfinite(rate) and 0.0 <= rate < 1.0):
            raise InputError(f"rate must be in [0, 1) (the probability of dropping a unit), "
                             f"got {rate!r}")
        self.rate = rate

    def forward(self, xp, X, *, training=False, rng=None):
        if not training or self.rate == 0.0:
            return X, _identity
        if rng is None:
            raise InputError("Dropout in training needs the run's random stream (rng=...)")
        keep = 1.0 - self.rate
        M = xp.astype(rng.keep_mask(tuple(X.shape), keep), X.dtype) * (1.0 / keep)
        return self.apply(xp, X, M)

    @staticmethod
    def apply(xp, X, M):
        """``(X * M, backprop)`` for a given scaled mask ``M`` (``mask / (1 - rate)``):
        the layer's math with the mask fixed (what a gradient check needs)."""

        def backprop(dY, need_dX=True):
            return (dY * M if need_dX else None), ()

        return X * M, backprop

    def config(self):
        return {"rate": self.rate}


def _identity(dY, need_dX=True):
    """The backward pass of the identity."""
    return (dY if need_dX else None), ()
