"""Losses, each paired with the output activation that makes its delta ``Y - T``.

All losses are means over the samples (rows) of a per-sample error, so a
batch of one is exactly the seed's per-sample error ``E``.

Why the output delta is ``Y - T``: for each pair below the output activation
is the loss's canonical link, and the chain rule through it cancels:

* squared error ``E = 1/2 sum (y - t)²`` with identity ``y = z``:
  ``dE/dz = y - t``;
* cross-entropy ``E = -sum t log y`` with softmax ``y = softmax(z)``:
  ``dE/dz = y - t`` (rows of ``t`` summing to 1);
* binary cross-entropy ``E = -sum t log y + (1 - t) log(1 - y)`` with
  sigmoid ``y = 1 / (1 + e^-z)``: ``dE/dz = y - t``.

The network then skips the output activation's backward (which for sigmoid
and softmax would divide by a vanishing ``y``) and starts from that delta, and
computes the value from ``z`` in a stable form (log-sum-exp, softplus).
"""

from __future__ import annotations

from .activations import log_softmax, softplus
from .registry import Configurable, lookup


def _n_samples(Y):
    return float(Y.shape[0])


class Loss(Configurable):
    """Base class of the losses.

    Attributes
    ----------
    name : str
        Registry name.
    link : str
        The output activation whose pairing makes the delta ``Y - T``.
    """

    link = "identity"

    def value(self, xp, Y, T):
        """The mean over samples of the per-sample error, a 0-d array."""
        raise NotImplementedError

    def gradient(self, xp, Y, T):
        """``dL/dY`` for any output activation."""
        raise NotImplementedError

    def value_and_delta(self, xp, Z, T):
        """The value and ``dL/dZ``, from ``Z``, the input of the :attr:`link` activation.

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

    def value(self, xp, Y, T):
        D = Y - T
        return 0.5 * xp.sum(D * D) / _n_samples(Y)

    def gradient(self, xp, Y, T):
        return (Y - T) / _n_samples(Y)

    def value_and_delta(self, xp, Z, T):
        D = Z - T
        n = _n_samples(Z)
        return 0.5 * xp.sum(D * D) / n, D / n


class MeanSquaredError(Loss):
    """``mean((y - t)²)`` over samples and outputs."""

    name = "mse"

    def _normalizer(self, Y):
        return float(Y.shape[0] * (Y.shape[1] if Y.ndim > 1 else 1))

    def value(self, xp, Y, T):
        D = Y - T
        return xp.sum(D * D) / self._normalizer(Y)

    def gradient(self, xp, Y, T):
        return (2.0 / self._normalizer(Y)) * (Y - T)

    def value_and_delta(self, xp, Z, T):
        D = Z - T
        m = self._normalizer(Z)
        return xp.sum(D * D) / m, (2.0 / m) * D


def _clipped_log(xp, Y):
    """``log(Y)`` with ``Y`` raised to the dtype's smallest normal number first."""
    return xp.log(xp.clip(Y, xp.finfo(Y.dtype).smallest_normal, 1.0))


class CrossEntropy(Loss):
    """Categorical cross-entropy ``E = -sum_k t_k log y_k``; link softmax."""

    name = "cross_entropy"
    link = "softmax"

    def value(self, xp, Y, T):
        return -xp.sum(T * _clipped_log(xp, Y)) / _n_samples(Y)

    def gradient(self, xp, Y, T):
        tiny = xp.finfo(Y.dtype).smallest_normal
        return -T / (xp.clip(Y, tiny, 1.0) * _n_samples(Y))

    def value_and_delta(self, xp, Z, T):
        L = log_softmax(xp, Z)
        n = _n_samples(Z)
        return -xp.sum(T * L) / n, (xp.exp(L) - T) / n


class BinaryCrossEntropy(Loss):
    """``E = -sum_k t_k log y_k + (1 - t_k) log(1 - y_k)``; link sigmoid."""

    name = "binary_cross_entropy"
    link = "sigmoid"

    def value(self, xp, Y, T):
        return -xp.sum(T * _clipped_log(xp, Y) + (1.0 - T) * _clipped_log(xp, 1.0 - Y)) \
            / _n_samples(Y)

    def gradient(self, xp, Y, T):
        tiny = xp.finfo(Y.dtype).smallest_normal
        P = xp.clip(Y, tiny, 1.0 - xp.finfo(Y.dtype).eps)
        return (P - T) / (P * (1.0 - P) * _n_samples(Y))

    def value_and_delta(self, xp, Z, T):
        # -t log s(z) - (1 - t) log(1 - s(z)) = softplus(z) - t z, and s(z) = exp(z - softplus(z))
        n = _n_samples(Z)
        P = softplus(xp, Z)
        return xp.sum(P - T * Z) / n, (xp.exp(Z - P) - T) / n


#: Every loss by name, with the spellings of scikit-learn and Keras as aliases.
LOSSES = {cls.name: cls for cls in (SquaredError, MeanSquaredError, CrossEntropy,
                                    BinaryCrossEntropy)}
LOSSES.update({"sse": SquaredError, "squared_loss": SquaredError,
               "mean_squared_error": MeanSquaredError, "log_loss": CrossEntropy,
               "categorical_cross_entropy": CrossEntropy, "categorical_crossentropy": CrossEntropy,
               "binary_crossentropy": BinaryCrossEntropy})


def get_loss(loss):
    """Look a loss up by name (or return a :class:`Loss` instance as it is).

    Raises
    ------
    ValueError
        For an unknown name; the message lists the known ones.
    """
    return lookup(loss, LOSSES, Loss, "loss")
