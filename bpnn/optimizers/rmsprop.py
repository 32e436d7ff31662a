"""RMSprop (Tieleman & Hinton, 2012), as PyTorch's ``torch.optim.RMSprop`` computes it."""

from __future__ import annotations

from ..validation import non_negative_float
from .base import Optimizer, register_optimizer, unit_interval


@register_optimizer
class RMSprop(Optimizer):
    """RMSprop: each weight's step divided by a running root mean square of its gradients.

    ::

        S <- rho S + (1 - rho) dW²
        G <- rho G + (1 - rho) dW                (centered only)
        D  = sqrt(S) + eps,  or  sqrt(S - G²) + eps  (centered)
        W <- W - lr dW / D                       (momentum 0)
        B <- mu B + dW / D;  W <- W - lr B       (momentum mu > 0)

    The update, the defaults and the order of the operations are PyTorch's, so a
    run matches ``torch.optim.RMSprop(lr, alpha=rho, eps, momentum, centered)``.

    Parameters
    ----------
    lr : float, default 0.01
    rho : float, default 0.99
        The decay of the running averages, in ``[0, 1)`` (PyTorch's ``alpha``).
    eps : float, default 1e-8
        Added to the root mean square.
    momentum : float, default 0.0
        In ``[0, 1)``.
    centered : bool, default False
        Divide by the running standard deviation (the mean square less the
        squared running mean) instead of the root mean square.
    """

    name = "rmsprop"

    def __init__(self, lr=0.01, rho=0.99, eps=1e-8, momentum=0.0, centered=False):
        super().__init__(lr)
        self.rho = unit_interval(rho, "rho")
        self.eps = non_negative_float(eps, "eps")
        self.momentum = unit_interval(non_negative_float(momentum, "momentum"), "momentum")
        self.centered = bool(centered)
        self.squares = self.means = self.buffers = None

    def advance(self):
        return {"lr": self.lr, "rho": self.rho, "eps": self.eps, "mu": self.momentum}

    def apply(self, xp, params, grads, numbers):
        if self.squares is None:
            self.squares = [xp.zeros_like(W) for W in params]
            self.means = [xp.zeros_like(W) for W in params] if self.centered else None
            self.buffers = [xp.zeros_like(W) for W in params] if self.momentum else None
        rho, lr = numbers["rho"], numbers["lr"]
        for index, (W, dW) in enumerate(zip(params, grads)):
            S = self.squares[index]
            S *= rho
            S += (1.0 - rho) * (dW * dW)
            self.squares[index] = S
            if self.centered:
                G = self.means[index]
                G *= rho
                G += (1.0 - rho) * dW
                self.means[index] = G
                D = xp.sqrt(S - G * G)
            else:
                D = xp.sqrt(S)
            D += numbers["eps"]  # D is a temporary of this step: no second one
            if self.momentum:
                B = self.buffers[index]
                B *= numbers["mu"]
                B += dW / D
                self.buffers[index] = B
                W -= lr * B
            else:
                dW /= D  # the gradient is ours to consume
                dW *= lr
                W -= dW
            params[index] = W

    def reset(self):
        self.squares = self.means = self.buffers = None

    def state_arrays(self):
        """The mean squares, then the means (centered), then the momentum buffers."""
        return [*(self.squares or []), *(self.means or []), *(self.buffers or [])]

    def state_names(self):
        """``square.i``, ``mean.i`` (centered), ``buffer.i`` (momentum) for parameter ``i``."""
        prefixes = ["square"] + ["mean"] * self.centered + ["buffer"] * bool(self.momentum)
        return self._numbered(prefixes, len(self.squares or []))

    def _load(self, scalars, arrays):
        if not arrays:
            return
        chunks = iter(self._per_parameter(arrays, 1 + self.centered + bool(self.momentum)))
        self.squares = next(chunks)
        self.means = next(chunks) if self.centered else None
        self.buffers = next(chunks) if self.momentum else None

    def config(self):
        return {"lr": self.lr, "rho": self.rho, "eps": self.eps, "momentum": self.momentum,
                "centered": self.centered}
