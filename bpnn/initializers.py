"""Weight initializers: the seed's ``scale * randn``, Glorot/Xavier and He.

Every draw comes from the model's host random stream (NumPy ``PCG64``), so one
seed gives the same initial weights on every backend.  An initializer draws
one parameter from its shape and its fans: ``init(rng, shape, dtype, fans)``
for a weight array, ``init.bias(rng, shape, dtype, fans)`` for the biases of
the same layer (a fan is how many inputs, or outputs, each unit sums over:
``(n_in, n_out)`` for a dense layer, times the receptive field for a kernel).
"""

from __future__ import annotations

import math

from .errors import InputError
from .registry import Configurable, Registry, lookup


def fans_of(shape):
    """``(fan_in, fan_out)`` of a weight array of ``shape``.

    ``(n_in, n_out)`` for a matrix; for a kernel ``(*receptive, n_in, n_out)``
    (a convolution's, channels last) both times the receptive field's size;
    ``(n, n)`` for a vector.
    """
    shape = tuple(shape)
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


class Initializer(Configurable):
    """Base class: ``__call__(rng, shape, dtype, fans=None) -> array`` draws a weight
    array; :meth:`bias` the biases that go with it (zeros unless overridden).

    ``fans`` is ``(fan_in, fan_out)``; by default :func:`fans_of` ``(shape)``.
    """

    def __call__(self, rng, shape, dtype, fans=None):
        raise NotImplementedError

    def bias(self, rng, shape, dtype, fans=None):
        """Biases of ``shape`` for weights of ``fans`` (zeros; drawn by none of the stream)."""
        backend = rng.backend
        return backend.xp.zeros(tuple(shape), dtype=dtype, device=backend.device)


class Normal(Initializer):
    """The seed's ``W = scale * randn(n_in, n_out)``, ``b = scale * randn(n_out)``."""

    name = "normal"

    def __init__(self, scale=0.01):
        self.scale = float(scale)

    def __call__(self, rng, shape, dtype, fans=None):
        return rng.normal(tuple(shape), dtype, scale=self.scale)

    bias = __call__

    def config(self):
        return {"scale": self.scale}


class _VarianceScaling(Initializer):
    """Zero biases and weights of variance ``gain / fan``; uniform or normal."""

    distribution = "uniform"

    def _std(self, fan_in, fan_out):
        raise NotImplementedError

    def __call__(self, rng, shape, dtype, fans=None):
        shape = tuple(shape)
        std = self._std(*(fans or fans_of(shape)))
        if self.distribution == "uniform":
            limit = math.sqrt(3.0) * std  # U(-a, a) has variance a²/3
            return rng.uniform(shape, dtype, low=-limit, high=limit)
        return rng.normal(shape, dtype, scale=std)


class GlorotUniform(_VarianceScaling):
    """Glorot/Xavier: ``Var W = 2 / (fan_in + fan_out)``, uniform; for sigmoid, tanh,
    softsign."""

    name = "glorot_uniform"

    def _std(self, fan_in, fan_out):
        return math.sqrt(2.0 / (fan_in + fan_out))


class GlorotNormal(GlorotUniform):
    """Glorot/Xavier: ``Var W = 2 / (fan_in + fan_out)``, normal."""

    name = "glorot_normal"
    distribution = "normal"


class HeUniform(_VarianceScaling):
    """He: ``Var W = 2 / fan_in``, uniform; for ReLU and its variants."""

    name = "he_uniform"

    def _std(self, fan_in, fan_out):
        return math.sqrt(2.0 / fan_in)


class HeNormal(HeUniform):
    """He: ``Var W = 2 / fan_in``, normal."""

    name = "he_normal"
    distribution = "normal"


class FanSumUniform(Initializer):
    """scikit-learn's MLP initialization: ``W`` and ``b`` uniform in
    ``±sqrt(gain / (fan_in + fan_out))``; gain 6 (Glorot's uniform bound), 2 for
    logistic units.

    Parameters
    ----------
    gain : float, default 6.0
    """

    name = "fan_sum_uniform"

    def __init__(self, gain=6.0):
        self.gain = float(gain)
        if not self.gain > 0:
            raise InputError(f"gain must be > 0, got {gain!r}")

    def __call__(self, rng, shape, dtype, fans=None):
        shape = tuple(shape)
        limit = math.sqrt(self.gain / sum(fans or fans_of(shape)))
        return rng.uniform(shape, dtype, low=-limit, high=limit)

    bias = __call__  # the same bound, from the weights' fans

    def config(self):
        return {"gain": self.gain}


#: Every initializer by name, ``{name: class}``; aliases point at the same class.  Open to
#: new ones through :func:`register_initializer` (a model file names a layer's by it).
INITIALIZERS = Registry("initializer", Initializer, key=lambda cls: str(cls.name).lower())


def register_initializer(cls=None, *, name=None):
    """Class decorator: let :func:`get_initializer` (and ``init=`` options, and model
    files) find an :class:`Initializer` subclass by its ``name`` (or ``name``, an alias).

    An initializer is called as ``init(rng, shape, dtype, fans)`` (and ``init.bias``
    with the same arguments for a bias) and draws from ``rng``, the network's seeded
    host stream."""
    return INITIALIZERS.register(cls, name=name.lower() if isinstance(name, str) else name)


for _cls in (Normal, GlorotUniform, GlorotNormal, HeUniform, HeNormal, FanSumUniform):
    register_initializer(_cls)
for _alias, _cls in {"xavier_uniform": GlorotUniform, "xavier_normal": GlorotNormal,
                     "randn": Normal, "sklearn": FanSumUniform}.items():
    register_initializer(_cls, name=_alias)
del _alias, _cls

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
