"""Seeing the error travel back: per-layer gradient norms (the seed's vanishing gradient).

Backpropagation passes the error ``δ_l = dL/dZ_l`` (``Z_l`` the output of
layer ``l``'s weights, before its activation ``f``) from the output down::

    δ_l = f'(Z_l) ⊙ (δ_{l+1} W_{l+1}ᵀ)

so ``‖δ_l‖ <= max|f'| ‖W_{l+1}‖₂ ‖δ_{l+1}‖``.  The sigmoid's derivative is at
most 0.25: through a deep sigmoid network the error shrinks roughly like
``0.25^depth`` and the first layers stop learning; ReLU's derivative is 1.
"""

from __future__ import annotations

import math

from .activations import Identity
from .layers import Activation, Dense
from .network import run_layers


class GradientNorms:
    """The norms of one backward pass, one entry per layer with parameters.

    Attributes
    ----------
    layers : list of str
        Each layer with parameters, as ``"Dense(2, 16)"``.
    activations : list of str
        The activation after each (the output activation for the last).
    error : list of float
        ``‖δ_l‖``: the Frobenius norm of the error arriving at layer ``l``'s
        output, ``dL/dZ_l`` over the batch, ``L`` the mean loss.
    weight : list of float
        ``‖dL/dW_l‖``: the norm of the gradient of the layer's weights (its
        first parameter: ``W`` of a Dense layer, the centres of an RBF layer).
    bias : list of float or None
        The norm of the gradient of the second parameter (``b``), if any.
    bound : list of float or None
        ``max |f'|`` of each layer's activation: the most it can scale the
        error on the way back (0.25 for sigmoid, 1 for ReLU).
    spectral : list of float or None
        ``‖W_l‖₂``, the largest singular value of each layer's weights
        (``None`` where the backend has no ``linalg.matrix_norm``, and for
        RBF layers).
    loss : float
        The mean loss of the batch.
    """

    def __init__(self, layers, activations, error, weight, bias, bound, spectral, loss):
        self.layers = layers
        self.activations = activations
        self.error = error
        self.weight = weight
        self.bias = bias
        self.bound = bound
        self.spectral = spectral
        self.loss = loss

    @property
    def ratio(self):
        """``‖δ_l‖ / ‖δ_{l+1}‖``: how much the error shrank passing back into layer ``l``
        (``None`` for the last layer, and where the next error is 0)."""
        ratios = [a / b if b else None for a, b in zip(self.error[:-1], self.error[1:])]
        return [*ratios, None]

    @property
    def ratio_bound(self):
        """``max|f'_l| ‖W_{l+1}‖₂``: what :attr:`ratio` can never exceed (``None`` where
        a factor is unknown)."""
        bounds = [None if f is None or w is None else f * w
                  for f, w in zip(self.bound[:-1], self.spectral[1:])]
        return [*bounds, None]

    def to_dict(self):
        """The figures as a dict of lists (JSON-ready)."""
        return {"layers": self.layers, "activations": self.activations, "error": self.error,
                "weight": self.weight, "bias": self.bias, "ratio": self.ratio,
                "bound": self.bound, "spectral": self.spectral,
                "ratio_bound": self.ratio_bound, "loss": self.loss}

    def table(self):
        """A text table, input layer first: the error norm, its ratio to the next
        layer's, the activation's ``max |f'|`` (the seed's 0.25 for sigmoid), the
        full bound ``max|f'| ‖W_{l+1}‖₂`` on the ratio, and the weight-gradient norm."""
        head = (f"{'layer':>5}  {'weights':<14} {'activation':<10} {'|error|':>10} "
                f"{'ratio to next':>13} {'max df':>7} {'bound':>7} {'|dW|':>10}")
        rows = [head]
        for index, (layer, name, error, ratio, bound, ratio_bound, weight) in enumerate(zip(
                self.layers, self.activations, self.error, self.ratio, self.bound,
                self.ratio_bound, self.weight)):
            rows.append(f"{index + 1:>5}  {layer:<14} {name:<10} {error:>10.3e} "
                        f"{_fixed(ratio, 13)} {_fixed(bound, 7, '.3g')} "
                        f"{_fixed(ratio_bound, 7)} {weight:>10.3e}")
        return "\n".join(rows)

    __str__ = table

    def __repr__(self):
        return f"GradientNorms(layers={len(self.layers)}, loss={self.loss:.6g})"


def _fixed(value, width, spec=".3f"):
    return f"{'-':>{width}}" if value is None else f"{value:>{width}{spec}}"


def gradient_norms(model, X, y):
    """Per-layer norms of the back-propagated error and of the weight gradients.

    One forward and backward pass on ``(X, y)`` with the model's loss (no
    penalty); the weights are not changed.  It is an inference pass (dropout
    is the identity): it draws nothing from the run's random stream, so a
    :class:`~bpnn.callbacks.GradientMonitor` never changes the run it watches.

    Parameters
    ----------
    model : Network
    X : array_like, shape (n_samples, n_features)
    y : array_like, shape (n_samples, n_outputs) or (n_samples,)
        Targets as for :meth:`Network.fit` (one-hot rows for cross-entropy).

    Returns
    -------
    GradientNorms
        Input layer first; ``print`` it for a table.

    Examples
    --------
    >>> import bpnn
    >>> X, T = bpnn.datasets.sin_classification()
    >>> net = bpnn.mlp([2, 8, 8, 8, 2], activation="sigmoid", loss="cross_entropy", seed=0)
    >>> norms = bpnn.diagnostics.gradient_norms(net, X, T)
    >>> all(r <= 0.25 * 2 for r in norms.ratio[:-1])   # shrinking on the way back
    True
    """
    with model._scope(X):
        X, T = model._data(X, y)
        return _gradient_norms(model, model.backend.xp, X, T)


def _gradient_norms(model, xp, X, T):
    backprops = []
    X = run_layers(model._body, xp, X, backprops=backprops)  # an inference pass: no dropout
    steps = [(index, layer, backprop)
             for index, (layer, backprop) in enumerate(zip(model._body, backprops))]
    loss, dY = model._output_loss_and_delta(xp, X, T)

    def norm(A):
        return math.sqrt(float(xp.sum(A * A)))

    def spectral(layer):
        matrix_norm = getattr(getattr(xp, "linalg", None), "matrix_norm", None)
        if matrix_norm is None or not isinstance(layer, Dense):
            return None
        return float(matrix_norm(layer.W, ord=2))

    records = []
    for index, layer, backprop in reversed(steps):
        error = norm(dY) if layer.params else None
        dY, grads = backprop(dY, need_dX=index > 0)
        if layer.params:
            function = _activation_after(model, index)
            records.append({
                "layers": _describe(layer),
                "activations": function.name if function else "-",
                "error": error,
                "weight": norm(grads[0]),
                "bias": norm(grads[1]) if len(grads) > 1 else None,
                "bound": function.max_derivative if function else None,
                "spectral": spectral(layer)})
    records.reverse()
    return GradientNorms(**{key: [record[key] for record in records] for key in records[0]},
                         loss=float(loss))


def _activation_after(model, index):
    """The activation function that follows layer ``index`` (the output activation
    for the last layer, identity when there is none); ``None`` for an RBF layer,
    whose Gaussian is inside it."""
    layers = model.layers
    if not isinstance(layers[index], Dense):
        return None
    following = layers[index + 1] if index + 1 < len(layers) else None
    return following.function if isinstance(following, Activation) else Identity()


def _describe(layer):
    """``Dense(2, 16)`` from the layer's config (widths only)."""
    return f"{type(layer).__name__}({layer.n_in}, {layer.n_out})"
