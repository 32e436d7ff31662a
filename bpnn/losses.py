"""Losses, each paired with the output activation that makes its delta ``Y - T``.

All losses are means over the samples (rows) of a per-sample error, so a
batch of one is exactly the seed's per-sample error ``E``.  With sample
weights ``w`` (a column, one per row) the mean becomes the weighted mean
``sum_i w_i E_i / sum_i w_i``, and each row's delta is scaled by
``w_i / sum_i w_i`` instead of ``1 / n``.

Why the output delta is ``Y - T``: for each pair below the output activation
is the loss's canonical link, and the chain rule through it cancels:

* squared error ``E = 1/2 sum (y - t)²`` with identity ``y = z``:
  ``dE/dz = y - t``;
* cross-entropy ``E = -sum t log y`` with softmax ``y = softmax(z)``:
  ``dE/dz = y - t`` (rows of ``t`` summing to 1);
* binary cross-entropy ``E = -sum t log y + (1 - t) log(1 - y)`` with
  sigmoid ``y = 1 / (1 + e^-z)``: ``dE/dz = y - t``;
* half the Poisson deviance ``E = sum y - t log y + t log t - t`` with
  ``y = e^z``: ``dE/dz = y - t``.

The network then skips the output activation's backward (which for sigmoid
and softmax would divide by a vanishing ``y``) and starts from that delta, and
computes the value from ``z`` in a stable form (log-sum-exp, softplus).
"""

from __future__ import annotations

from .activations import log_softmax, softplus
from .registry import Configurable, Registry, lookup


def weight_total(xp, w):
    """``sum(w)`` of non-negative sample weights, or 1 where that sum is 0.

    A mini-batch whose weights are all zero then has the weighted mean
    ``sum(w E) / 1 = 0`` and the delta ``G w / 1 = 0``: it adds no loss and no
    gradient, instead of ``0 / 0 = NaN`` (which the divergence check would
    blame on the learning rate).  Weights are checked non-negative and not all
    zero over the whole data by :func:`bpnn.validation.weight_column`.
    """
    total = xp.sum(w)
    return xp.where(total > 0, total, xp.ones_like(total))


def _mean(xp, E, w, per_row=1.0, factor=1.0):
    """``factor sum(E) / (n per_row)``, or with weights ``factor sum(w E) / (sum(w)
    per_row)`` (0 for a batch of zero weights): the mean over rows of ``E`` (n, k), the
    elementwise errors, summed along each row.  ``factor`` (the squared error's 1/2, the
    cross-entropies' -1) goes into the Python divisor: no extra operation on the 0-d
    result, and the same rounding as scaling the mean (the factors are powers of two)."""
    if w is None:
        return xp.sum(E) / (float(E.shape[0]) * per_row / factor)
    return xp.sum(w * E) / (weight_total(xp, w) * (per_row / factor))


def _per_row(xp, G, w, per_row=1.0, scale=1.0):
    """The delta of that mean times ``scale``: ``scale G / (n per_row)``, or
    ``scale G w / (sum(w) per_row)`` (0 for a batch of zero weights)."""
    if w is None:
        n = float(G.shape[0]) * per_row
        return G / n if scale == 1.0 else G * (scale / n)
    return G * (w * (scale / per_row) / weight_total(xp, w))


class Loss(Configurable):
    """Base class of the losses.

    Every method takes ``w``, the sample weights as an (n, 1) column, or
    ``None`` for the plain mean over rows.

    Attributes
    ----------
    name : str
        Registry name.
    link : str
        The output activation whose pairing makes the delta ``Y - T``.
    """

    link = "identity"

    def value(self, xp, Y, T, w=None):
        """The (weighted) mean over samples of the per-sample error, a 0-d array."""
        raise NotImplementedError

    def gradient(self, xp, Y, T, w=None, scale=1.0):
        """``dL/dY`` for any output activation, times ``scale``."""
        raise NotImplementedError

    def value_and_delta(self, xp, Z, T, w=None, scale=1.0):
        """The value and ``dL/dZ``, from ``Z``, the input of the :attr:`link` activation.

        ``scale`` multiplies the delta (not the value) at no extra cost: the
        weight of this batch's loss in a larger sum (a rank's share of a global
        batch in a distributed fit).

        Returns
        -------
        value : 0-d array
            Computed from ``Z`` in a stable form.
        delta : array
            ``(Y - T) / n`` with ``Y = link(Z)`` (twice that for the mean squared error,
            and divided by the number of outputs too).
        """
        raise NotImplementedError


class SquaredError(Loss):
    """The seed's ``E = 1/2 sum_k (y_k - t_k)²`` per sample, averaged over samples."""

    name = "squared_error"

    def value(self, xp, Y, T, w=None):
        D = Y - T
        return _mean(xp, D * D, w, factor=0.5)

    def gradient(self, xp, Y, T, w=None, scale=1.0):
        return _per_row(xp, Y - T, w, scale=scale)

    def value_and_delta(self, xp, Z, T, w=None, scale=1.0):
        D = Z - T
        return _mean(xp, D * D, w, factor=0.5), _per_row(xp, D, w, scale=scale)


class MeanSquaredError(Loss):
    """``mean((y - t)²)`` over samples and outputs."""

    name = "mse"

    def value(self, xp, Y, T, w=None):
        return self.value_and_delta(xp, Y, T, w)[0]

    def gradient(self, xp, Y, T, w=None, scale=1.0):
        return self.value_and_delta(xp, Y, T, w, scale)[1]

    def value_and_delta(self, xp, Z, T, w=None, scale=1.0):
        D = Z - T
        k = _columns(Z)
        return _mean(xp, D * D, w, per_row=k), _per_row(xp, D, w, per_row=k, scale=2.0 * scale)


def _columns(Y):
    return float(Y.shape[1] if Y.ndim > 1 else 1)


def _clipped_log(xp, Y):
    """``log(Y)`` with ``Y`` raised to the dtype's smallest normal number first."""
    return xp.log(xp.clip(Y, xp.finfo(Y.dtype).smallest_normal, 1.0))


class CrossEntropy(Loss):
    """Categorical cross-entropy ``E = -sum_k t_k log y_k``; link softmax."""

    name = "cross_entropy"
    link = "softmax"

    def value(self, xp, Y, T, w=None):
        return _mean(xp, T * _clipped_log(xp, Y), w, factor=-1.0)

    def gradient(self, xp, Y, T, w=None, scale=1.0):
        tiny = xp.finfo(Y.dtype).smallest_normal
        return _per_row(xp, -T / xp.clip(Y, tiny, 1.0), w, scale=scale)

    def value_and_delta(self, xp, Z, T, w=None, scale=1.0):
        L = log_softmax(xp, Z)
        return _mean(xp, T * L, w, factor=-1.0), _per_row(xp, xp.exp(L) - T, w, scale=scale)


class BinaryCrossEntropy(Loss):
    """``E = -sum_k t_k log y_k + (1 - t_k) log(1 - y_k)``; link sigmoid."""

    name = "binary_cross_entropy"
    link = "sigmoid"

    def value(self, xp, Y, T, w=None):
        return _mean(xp, T * _clipped_log(xp, Y) + (1.0 - T) * _clipped_log(xp, 1.0 - Y), w,
                     factor=-1.0)

    def gradient(self, xp, Y, T, w=None, scale=1.0):
        tiny = xp.finfo(Y.dtype).smallest_normal
        P = xp.clip(Y, tiny, 1.0 - xp.finfo(Y.dtype).eps)
        return _per_row(xp, (P - T) / (P * (1.0 - P)), w, scale=scale)

    def value_and_delta(self, xp, Z, T, w=None, scale=1.0):
        # -t log s(z) - (1 - t) log(1 - s(z)) = softplus(z) - t z, and s(z) = exp(z - softplus(z))
        P = softplus(xp, Z)
        return _mean(xp, P - T * Z, w), _per_row(xp, xp.exp(Z - P) - T, w, scale=scale)


def _xlogx(xp, T):
    """``t log t`` with ``0 log 0 = 0``."""
    return T * xp.log(xp.where(T > 0, T, 1.0))


class Poisson(Loss):
    """Half the Poisson deviance ``E = sum_k y_k - t_k log y_k + t_k log t_k - t_k``; link exp.

    For counts and rates ``t >= 0``; it is 0 where ``y = t``.  The output
    ``y = e^z`` is always positive.
    """

    name = "poisson"
    link = "exp"

    def value(self, xp, Y, T, w=None):
        tiny = xp.finfo(Y.dtype).smallest_normal
        return _mean(xp, Y - T * xp.log(xp.maximum(Y, tiny)) + _xlogx(xp, T) - T, w)

    def gradient(self, xp, Y, T, w=None, scale=1.0):
        tiny = xp.finfo(Y.dtype).smallest_normal
        return _per_row(xp, 1.0 - T / xp.maximum(Y, tiny), w, scale=scale)

    def value_and_delta(self, xp, Z, T, w=None, scale=1.0):
        Y = xp.exp(Z)
        return (_mean(xp, Y - T * Z + _xlogx(xp, T) - T, w),
                _per_row(xp, Y - T, w, scale=scale))


#: Every loss by name, with the spellings of scikit-learn and Keras as aliases.
#: Open to new ones through :func:`register_loss` (a model file names its loss by it).
LOSSES = Registry("loss", Loss, key=lambda cls: str(cls.name).lower())


def register_loss(cls=None, *, name=None):
    """Class decorator: let :func:`get_loss` (``loss=`` options, model files) find a
    :class:`Loss` subclass by its ``name`` (or ``name``, an alias)."""
    return LOSSES.register(cls, name=name.lower() if isinstance(name, str) else name)


for _cls in (SquaredError, MeanSquaredError, CrossEntropy, BinaryCrossEntropy, Poisson):
    register_loss(_cls)
for _alias, _cls in {"sse": SquaredError, "squared_loss": SquaredError,
                     "mean_squared_error": MeanSquaredError, "log_loss": CrossEntropy,
                     "categorical_cross_entropy": CrossEntropy,
                     "categorical_crossentropy": CrossEntropy,
                     "binary_crossentropy": BinaryCrossEntropy,
                     "poisson_deviance": Poisson}.items():
    register_loss(_cls, name=_alias)
del _alias, _cls


def get_loss(loss):
    """Look a loss up by name (or return a :class:`Loss` instance as it is).

    Raises
    ------
    ValueError
        For an unknown name; the message lists the known ones.
    """
    return lookup(loss, LOSSES, Loss, "loss")
