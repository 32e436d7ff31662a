"""Adam (Kingma & Ba, 2015)."""

from __future__ import annotations

import math

from ..validation import non_negative_float
from .base import Optimizer, register_optimizer, unit_interval


@register_optimizer
class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015).

    ::

        M <- beta_1 M + (1 - beta_1) dW
        S <- beta_2 S + (1 - beta_2) dW²
        W <- W - lr_t M / (sqrt(S) + eps),  lr_t = lr sqrt(1 - beta_2^t) / (1 - beta_1^t)

    Parameters
    ----------
    lr : float, default 0.001
    beta_1, beta_2 : float, default 0.9, 0.999
        In ``[0, 1)``.
    eps : float, default 1e-8
    """

    name = "adam"

    def __init__(self, lr=0.001, beta_1=0.9, beta_2=0.999, eps=1e-8):
        super().__init__(lr)
        self.beta_1 = unit_interval(beta_1, "beta_1")
        self.beta_2 = unit_interval(beta_2, "beta_2")
        self.eps = non_negative_float(eps, "eps")
        self.t = 0
        self.moments = None

    @property
    def learning_rate(self):
        """The last step's ``lr_t`` (``lr`` before the first step) under scikit-learn's
        name: its ``AdamOptimizer.learning_rate``, which code written for scikit-learn's
        MLPs reads from their ``_optimizer`` (kept for that compatibility)."""
        if self.t == 0:
            return self.lr
        return self.lr * math.sqrt(1.0 - self.beta_2 ** self.t) / (1.0 - self.beta_1 ** self.t)

    def advance(self):
        self.t += 1
        b1, b2 = self.beta_1, self.beta_2
        return {"lr_t": self.lr * math.sqrt(1.0 - b2 ** self.t) / (1.0 - b1 ** self.t),
                "b1": b1, "b2": b2, "eps": self.eps}

    def apply(self, xp, params, grads, numbers):
        if self.moments is None:
            self.moments = [(xp.zeros_like(W), xp.zeros_like(W)) for W in params]
        b1, b2, lr_t, eps = numbers["b1"], numbers["b2"], numbers["lr_t"], numbers["eps"]
        moments = self.moments
        for index, (W, dW, (M, S)) in enumerate(zip(params, grads, moments)):
            M *= b1
            M += (1.0 - b1) * dW
            S *= b2
            S += (1.0 - b2) * (dW * dW)
            W -= lr_t * M / (xp.sqrt(S) + eps)
            params[index], moments[index] = W, (M, S)

    def reset(self):
        self.t = 0
        self.moments = None

    def state_arrays(self):
        """Each parameter's first and second moments, parameter after parameter."""
        return [array for pair in (self.moments or []) for array in pair]

    def state_names(self):
        """``m.i`` and ``v.i`` for parameter ``i`` (checkpoints store the arrays by these)."""
        return [f"{moment}.{i}" for i in range(len(self.moments or [])) for moment in "mv"]

    def state_scalars(self):
        return {"t": self.t}

    def _load(self, scalars, arrays):
        self.t = int(scalars.get("t", 0))
        if arrays:  # M0 S0 M1 S1 ...: checked as the first moments, then the second
            self.moments = list(zip(*self._per_parameter(arrays[0::2] + arrays[1::2], 2)))
        else:
            self.moments = None

    def config(self):
        return {"lr": self.lr, "beta_1": self.beta_1, "beta_2": self.beta_2, "eps": self.eps}
