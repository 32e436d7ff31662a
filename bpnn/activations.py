"""Activation functions: one registry of (forward, backward) pairs.

Each activation ``f`` gives

* ``forward(xp, X) -> Y = f(X)``, elementwise except for softmax, and
* ``backward(xp, dY, X, Y) -> dX``, the vector-Jacobian product
  ``dX = dY * f'(X)``, written from the output ``Y`` where that is cheaper
  (sigmoid, tanh, softsign, softmax) and from ``X`` otherwise.

Conventions: comparisons become masks through ``xp.where`` (never
``X * (X > 0)``); hyper-parameters are Python floats so the array's dtype is
kept; every form is numerically stable for finite inputs up to ``±1e300`` in
float64 (no overflow, no warning).
"""

from __future__ import annotations

import math

from .registry import Configurable, Registry, lookup

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_CUBIC = 0.044715
# Past |x| = 10 the tanh inside GELU is exactly ±1 in float32 and float64, and
# past |x| = 40 exp(-x²) is exactly 0: clipping there changes no result and
# keeps x³ and x² from overflowing.
_GELU_CLIP = 10.0
_GAUSSIAN_CLIP = 40.0


def stable_sigmoid(xp, X):
    """``1 / (1 + exp(-X)) = exp(-log(1 + exp(-X)))``, with the log-sum-exp done by
    ``logaddexp``: no overflow anywhere, full relative precision in both tails,
    and fewer array operations than the naive form.

    Not ``exp(X - softplus(X))``, one operation fewer: there ``softplus(X)`` of
    a large ``X`` is rounded to ``X``'s precision, and ``1 - y`` loses its
    relative precision (at ``X = 20`` a relative error of 3e-7 instead of 2e-8,
    and ``y = 1`` exactly from ``X = 34`` instead of 38)."""
    return xp.exp(-xp.logaddexp(0.0, -X))


def softplus(xp, X):
    """``log(1 + exp(X)) = logaddexp(0, X)``, without overflow."""
    return xp.logaddexp(0.0, X)


def exp_floor(xp, dtype):
    """A shift below which ``exp`` underflows to exactly 0 in ``dtype``."""
    return 750.0 if dtype == xp.float64 else 110.0  # a comparison, not a finfo per step


def log_softmax(xp, X):
    """Row-wise ``log(softmax(X))``, shifted by the row maximum (log-sum-exp).

    The shifted row ``S = X - max`` is taken as ``2 (X/2 - max/2)``, which
    cannot overflow even at the ends of the float range and is otherwise the
    same number (halving is exact), and is floored at :func:`exp_floor`, below
    which ``exp`` is 0 anyway: the log-probabilities stay finite.
    """
    half_shift = 0.5 * xp.max(X, axis=-1, keepdims=True)
    S = 2.0 * xp.maximum(0.5 * X - half_shift, -0.5 * exp_floor(xp, X.dtype))  # in [-floor, 0]
    return S - xp.log(xp.sum(xp.exp(S), axis=-1, keepdims=True))


class ActivationFunction(Configurable):
    """Base class: a named pair ``forward`` / ``backward``.

    Subclasses set :attr:`name` and implement both methods; hyper-parameters
    are keyword arguments of the constructor and appear in :meth:`config`.
    """

    #: Families of weight initialization that suit this activation.
    init_family = "glorot"
    #: ``max |f'(x)|`` over all x: the most one layer can scale the error passing
    #: back through it (the seed's 0.25 for sigmoid); ``None`` where f is not
    #: elementwise (softmax).
    max_derivative = 1.0

    def forward(self, xp, X):
        """``Y = f(X)``."""
        raise NotImplementedError

    def backward(self, xp, dY, X, Y):
        """``dX = dY * f'(X)`` (the vector-Jacobian product for softmax)."""
        raise NotImplementedError


class Identity(ActivationFunction):
    """``f(x) = x``: the regression output of the seed."""

    name = "identity"

    def forward(self, xp, X):
        return X

    def backward(self, xp, dY, X, Y):
        return dY


class Sigmoid(ActivationFunction):
    """``f(x) = 1 / (1 + e^-x)``; ``f' = y (1 - y)``, at most 0.25."""

    name = "sigmoid"
    max_derivative = 0.25  # at x = 0: y (1 - y) = 1/4

    forward = staticmethod(stable_sigmoid)  # f.forward(xp, X): no second call per step

    def backward(self, xp, dY, X, Y):
        return dY * Y * (1.0 - Y)


class Tanh(ActivationFunction):
    """``f(x) = tanh x``; ``f' = 1 - y²``."""

    name = "tanh"

    def forward(self, xp, X):
        return xp.tanh(X)

    def backward(self, xp, dY, X, Y):
        return dY * (1.0 - Y * Y)


class Softsign(ActivationFunction):
    """``f(x) = x / (1 + |x|)``; ``f' = 1 / (1 + |x|)² = (1 - |y|)²``."""

    name = "softsign"

    def forward(self, xp, X):
        return X / (1.0 + xp.abs(X))

    def backward(self, xp, dY, X, Y):
        G = 1.0 - xp.abs(Y)
        return dY * G * G


class Relu(ActivationFunction):
    """``f(x) = max(x, 0)``; ``f' = 1`` where ``x > 0``, else 0."""

    name = "relu"
    init_family = "he"

    def forward(self, xp, X):
        # maximum, not where: one pass instead of a mask and a select (4x faster in
        # NumPy), and NaN still propagates (the standard's maximum returns NaN for NaN)
        return xp.maximum(X, 0.0)

    def backward(self, xp, dY, X, Y):
        # dY times the 0/1 mask of x > 0: a third of the time of where() in NumPy.  It
        # differs from where() only where dY is already inf or NaN (a diverged step,
        # which the training loop reports), and X itself is never multiplied.
        return dY * xp.astype(X > 0, dY.dtype)


class LeakyRelu(ActivationFunction):
    """``f(x) = x`` for ``x > 0``, else ``alpha x``."""

    name = "leaky_relu"
    init_family = "he"

    def __init__(self, alpha=0.01):
        self.alpha = float(alpha)
        self.max_derivative = max(1.0, abs(self.alpha))

    def forward(self, xp, X):
        return xp.where(X > 0, X, self.alpha * X)

    def backward(self, xp, dY, X, Y):
        return xp.where(X > 0, dY, self.alpha * dY)

    def config(self):
        return {"alpha": self.alpha}


class Elu(ActivationFunction):
    """``f(x) = x`` for ``x > 0``, else ``alpha (e^x - 1)``; ``f' = y + alpha`` there."""

    name = "elu"
    init_family = "he"

    def __init__(self, alpha=1.0):
        self.alpha = float(alpha)
        self.max_derivative = max(1.0, abs(self.alpha))  # f' -> alpha as x -> 0-

    def forward(self, xp, X):
        # expm1 sees only non-positive values: no overflow for large x.
        return xp.where(X > 0, X, self.alpha * xp.expm1(xp.minimum(X, 0.0)))

    def backward(self, xp, dY, X, Y):
        return xp.where(X > 0, dY, dY * (Y + self.alpha))

    def config(self):
        return {"alpha": self.alpha}


class Softplus(ActivationFunction):
    """``f(x) = log(1 + e^x)``; ``f' = sigmoid(x)``."""

    name = "softplus"
    init_family = "he"

    def forward(self, xp, X):
        return softplus(xp, X)

    def backward(self, xp, dY, X, Y):
        return dY * stable_sigmoid(xp, X)


class Gelu(ActivationFunction):
    """GELU, tanh form: ``f(x) = x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x³)))``."""

    name = "gelu"
    max_derivative = 1.1290  # 1.12899 at x ≈ 1.5 (tanh form), rounded up
    init_family = "he"

    def _inner(self, xp, X):
        Xc = xp.clip(X, -_GELU_CLIP, _GELU_CLIP)
        return Xc, xp.tanh(_SQRT_2_OVER_PI * (Xc + _GELU_CUBIC * Xc * Xc * Xc))

    def forward(self, xp, X):
        _, Th = self._inner(xp, X)
        return 0.5 * X * (1.0 + Th)

    def backward(self, xp, dY, X, Y):
        # f' = (1 + t)/2 + x/2 (1 - t²) sqrt(2/pi) (1 + 3 * 0.044715 x²);
        # (1 - t²) = 0 past the clip.
        Xc, Th = self._inner(xp, X)
        inner_slope = _SQRT_2_OVER_PI * (1.0 + 3.0 * _GELU_CUBIC * Xc * Xc)
        return dY * (0.5 * (1.0 + Th) + 0.5 * Xc * (1.0 - Th * Th) * inner_slope)


class Swish(ActivationFunction):
    """Swish / SiLU: ``f(x) = x sigmoid(x)``; ``f' = s + y (1 - s)``."""

    name = "swish"
    max_derivative = 1.0999  # 1.09984 at x ≈ 2.40, rounded up
    init_family = "he"

    def forward(self, xp, X):
        return X * stable_sigmoid(xp, X)

    def backward(self, xp, dY, X, Y):
        S = stable_sigmoid(xp, X)
        return dY * (S + Y * (1.0 - S))


class Exp(ActivationFunction):
    """``f(x) = e^x``; ``f' = y``: the output of a Poisson regression (always positive)."""

    name = "exp"
    max_derivative = math.inf  # e^x grows without bound

    def forward(self, xp, X):
        return xp.exp(X)

    def backward(self, xp, dY, X, Y):
        return dY * Y


class Gaussian(ActivationFunction):
    """``f(x) = exp(-x²)``; ``f' = -2 x y``."""

    name = "gaussian"
    max_derivative = math.sqrt(2.0) * math.exp(-0.5)  # at x = ±1/sqrt(2)

    def forward(self, xp, X):
        Xc = xp.clip(X, -_GAUSSIAN_CLIP, _GAUSSIAN_CLIP)
        return xp.exp(-(Xc * Xc))

    def backward(self, xp, dY, X, Y):
        Xc = xp.clip(X, -_GAUSSIAN_CLIP, _GAUSSIAN_CLIP)
        return dY * (-2.0 * Xc * Y)


class Softmax(ActivationFunction):
    """Row-wise ``softmax(x)_i = e^{x_i} / sum_j e^{x_j}``, shifted by the row maximum.

    Backward (its Jacobian is not diagonal): ``dX = Y * (dY - sum(dY * Y))``
    with the sum along each row.
    """

    name = "softmax"
    max_derivative = None

    def forward(self, xp, X):
        return xp.exp(log_softmax(xp, X))

    def backward(self, xp, dY, X, Y):
        return Y * (dY - xp.sum(dY * Y, axis=-1, keepdims=True))


#: Every activation by name, ``{name: class}``; aliases point at the same class.  Open to
#: new ones through :func:`register_activation` (a model file names its activations by it).
ACTIVATIONS = Registry("activation", ActivationFunction, key=lambda cls: str(cls.name).lower())


def register_activation(cls=None, *, name=None):
    """Class decorator: let :func:`get_activation` (and every ``activation=`` option, and
    model files) find an :class:`ActivationFunction` subclass by its ``name`` (or
    ``name``, an alias), in lower case as lookups are.

    Examples
    --------
    >>> import bpnn
    >>> @bpnn.register_activation
    ... class Mish(bpnn.activations.ActivationFunction):
    ...     name = "mish_example"
    ...     def forward(self, xp, X):
    ...         return X * xp.tanh(bpnn.activations.softplus(xp, X))
    ...     def backward(self, xp, dY, X, Y):
    ...         s = bpnn.activations.stable_sigmoid(xp, X)
    ...         t = xp.tanh(bpnn.activations.softplus(xp, X))
    ...         return dY * (t + X * s * (1.0 - t * t))
    >>> bpnn.get_activation("mish_example")
    Mish()
    >>> del bpnn.ACTIVATIONS["mish_example"]  # the example cleans up after itself
    """
    return ACTIVATIONS.register(cls, name=name.lower() if isinstance(name, str) else name)


for _cls in (Identity, Sigmoid, Tanh, Softsign, Relu, LeakyRelu, Elu, Softplus, Gelu, Swish,
             Gaussian, Exp, Softmax):
    register_activation(_cls)
for _alias, _cls in {"linear": Identity, "logistic": Sigmoid, "silu": Swish}.items():
    register_activation(_cls, name=_alias)
del _alias, _cls


def get_activation(activation, **params):
    """Look an activation up by name.

    Parameters
    ----------
    activation : str or ActivationFunction
        A name from :data:`ACTIVATIONS` (``"relu"``, ``"leaky_relu"``...) or
        an instance, returned as it is.
    **params
        Hyper-parameters of the activation (``alpha`` for leaky_relu and elu).

    Raises
    ------
    ValueError
        For an unknown name or a hyper-parameter the activation does not take.
    """
    return lookup(activation, ACTIVATIONS, ActivationFunction, "activation", **params)
