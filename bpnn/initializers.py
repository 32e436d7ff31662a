"""Weight initializers: the seed's ``scale * randn``, Glorot/Xavier and He.

Every draw comes from the model's host random stream (NumPy ``PCG64``), so one
seed gives the same initial weights on every backend.  An initializer returns
``(W, b)`` for a layer of ``n_in`` inputs and ``n_out`` units.
"""

from __future__ import annotations

import math

from .errors import InputError
from .registry import Configurable, lookup


class Initializer(Configurable):
    """Base class: ``__call__(rng, n_in, n_out, dtype) -> (W, b)``."""

    def __call__(self, rng, n_in, n_out, dtype):
        raise NotImplementedError


class Normal(Initializer):
    """The seed's ``W = scale * randn(n_in, n_out)``, ``b = scale * randn(n_out)``."""

    name = "normal"

    def __init__(self, scale=0.01):
        self.scale = float(scale)

    def __call__(self, rng, n_in, n_out, dtype):
        W = rng.normal((n_in, n_out), dtype, scale=self.scale)
        b = rng.normal((n_out,), dtype, scale=self.scale)
        return W, b

    def config(self):
        return {"scale": self.scale}


class _VarianceScaling(Initializer):
    """Zero biases and weights of variance ``gain / fan``; uniform or normal."""

    distribution = "uniform"

    def _std(self, n_in, n_out):
        raise NotImplementedError

    def __call__(self, rng, n_in, n_out, dtype):
        std = self._std(n_in, n_out)
        if self.distribution == "uniform":
            limit = math.sqrt(3.0) * std  # U(-a, a) has variance a²/3
            W = rng.uniform((n_in, n_out), dtype, low=-limit, high=limit)
        else:
            W = rng.normal((n_in, n_out), dtype, scale=std)
        backend = rng.backend
        b = backend.xp.zeros((n_out,), dtype=dtype, device=backend.device)
        return W, b


class GlorotUniform(_VarianceScaling):
    """Glorot/Xavier: ``Var W = 2 / (n_in + n_out)``, uniform; for sigmoid, tanh, softsign."""

    name = "glorot_uniform"

    def _std(self, n_in, n_out):
        return math.sqrt(2.0 / (n_in + n_out))


class GlorotNormal(GlorotUniform):
    """Glorot/Xavier: ``Var W = 2 / (n_in + n_out)``, normal."""

    name = "glorot_normal"
    distribution = "normal"


class HeUniform(_VarianceScaling):
    """He: ``Var W = 2 / n_in``, uniform; for ReLU and its variants."""

    name = "he_uniform"

    def _std(self, n_in, n_out):
        return math.sqrt(2.0 / n_in)


class HeNormal(HeUniform):
    """He: ``Var W = 2 / n_in``, normal."""

    name = "he_normal"
    distribution = "normal"


class FanSumUniform(Initializer):
    """scikit-learn's MLP initialization: ``W`` and ``b`` uniform in
    ``±sqrt(gain / (n_in + n_out))``; gain 6 (Glorot's uniform bound), 2 for logistic units.

    Parameters
    ----------
    gain : float, default 6.0
    """

    name = "fan_sum_uniform"

    def __init__(self, gain=6.0):
        self.gain = float(gain)
        if not self.gain > 0:
            raise InputError(f"gain must be > 0, got {gain!r}")

    def __call__(self, rng, n_in, n_out, dtype):
        limit = math.sqrt(self.gain / (n_in + n_out))
        W = rng.uniform((n_in, n_out), dtype, low=-limit, high=limit)
        b = rng.uniform((n_out,), dtype, low=-limit, high=limit)
        return W, b

    def config(self):
        return {"gain": self.gain}


INITIALIZERS = {cls.name: cls for cls in (Normal, GlorotUniform, GlorotNormal, HeUniform,
                                          HeNormal, FanSumUniform)}
INITIALIZERS.update({"xavier_uniform": GlorotUniform, "xavier_normal": GlorotNormal,
                     "randn": Normal, "sklearn": FanSumUniform})

#: The default initializer of each activation family (``ActivationFunction.init_family``).
DEFAULT_FOR_FAMILY = {"glorot": "glorot_uniform", "he": "he_uniform"}


def get_initializer(init, **params):
    """Look an initializer up by name, or return an :class:`Initializer` as it is.

    Raises
    ------
    ValueError
        For an unknown name or a parameter the initializer does not take.
    """
    return lookup(init, INITIALIZERS, Initializer, "initializer", **params)


def default_initializer(activation):
    """The initializer that suits ``activation`` (an :class:`ActivationFunction`)."""
    family = getattr(activation, "init_family", "glorot")
    return get_initializer(DEFAULT_FOR_FAMILY[family])
