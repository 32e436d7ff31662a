"""Stochastic gradient descent, with optional (Nesterov) momentum."""

from __future__ import annotations

from ..errors import InputError
from ..validation import non_negative_float
from .base import Optimizer, register_optimizer


@register_optimizer
class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum.

    Plain: ``W <- W - lr dW``.  With momentum ``mu``::

        V <- mu V - lr dW
        W <- W + V                      (classical)
        W <- W + mu V - lr dW           (Nesterov, as in scikit-learn)

    Parameters
    ----------
    lr : float, default 0.01
    momentum : float, default 0.0
        In ``[0, 1]`` (1: no friction, which scikit-learn's SGD accepts too).
    nesterov : bool, default False
    """

    name = "sgd"

    def __init__(self, lr=0.01, momentum=0.0, nesterov=False):
        super().__init__(lr)
        self.momentum = non_negative_float(momentum, "momentum")
        if self.momentum > 1.0:
            raise InputError(f"momentum must be in [0, 1], got {momentum!r}")
        self.nesterov = bool(nesterov)
        self.velocities = None

    @property
    def learning_rate(self):
        """:attr:`lr` under scikit-learn's name: its ``SGDOptimizer.learning_rate``, which
        code written for scikit-learn's MLPs reads from their ``_optimizer`` (kept for
        that compatibility)."""
        return self.lr

    def advance(self):
        return {"lr": self.lr, "mu": self.momentum}

    def descent_rate(self):
        return self.lr if self.momentum == 0.0 else None

    def apply(self, xp, params, grads, numbers):
        lr = numbers["lr"]
        if self.momentum == 0.0:
            for index, (W, dW) in enumerate(zip(params, grads)):
                dW *= lr  # the gradient is ours to consume: no temporary
                W -= dW
                params[index] = W
            return
        mu = numbers["mu"]
        if self.velocities is None:
            self.velocities = [xp.zeros_like(W) for W in params]
        velocities = self.velocities
        for index, (W, dW, V) in enumerate(zip(params, grads, velocities)):
            dW *= lr
            V *= mu
            V -= dW
            if self.nesterov:  # W += mu V - lr dW, without temporaries
                W -= dW
                dW = V * mu
                W += dW
            else:
                W += V
            params[index], velocities[index] = W, V

    def reset(self):
        self.velocities = None

    def state_arrays(self):
        return list(self.velocities or [])

    def state_names(self):
        """``velocity.i`` for parameter ``i`` (checkpoints store the arrays by these)."""
        return self._numbered(["velocity"], len(self.velocities or []))

    def _load(self, scalars, arrays):
        self.velocities = self._per_parameter(arrays, 1)[0] if arrays else None

    def config(self):
        return {"lr": self.lr, "momentum": self.momentum, "nesterov": self.nesterov}
