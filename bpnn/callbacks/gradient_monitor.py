"""Record the per-layer gradient norms while training."""

from __future__ import annotations

from ..diagnostics import gradient_norms
from ..validation import positive_int
from .base import Callback


class GradientMonitor(Callback):
    """Record :func:`bpnn.diagnostics.gradient_norms` on fixed data as training goes.

    It records once before the first epoch and then after every ``every``-th
    epoch, on ``(X, y)`` (e.g. a few hundred training rows: each record is one
    forward and backward pass).

    A resumed run (``fit(resume=...)``) starts its records afresh: they are
    a view of the run, not part of its state.

    Parameters
    ----------
    X : array_like, shape (n_samples, n_features)
    y : array_like
        Targets as for ``fit``.
    every : int, default 1

    Attributes
    ----------
    epochs : list of int
        The epoch after which each record was taken; -1 for the one before training.
    records : list of GradientNorms
    """

    def __init__(self, X, y, every=1):
        self.X, self.y = X, y
        self.every = positive_int(every, "every")
        self.epochs = []
        self.records = []

    def on_train_begin(self, logs=None):
        self.epochs, self.records = [-1], [gradient_norms(self.model, self.X, self.y)]

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every == 0:
            self.epochs.append(epoch)
            self.records.append(gradient_norms(self.model, self.X, self.y))

    def error(self):
        """``‖δ_l‖`` of every record: a list (one per record) of lists (one per layer)."""
        return [record.error for record in self.records]
