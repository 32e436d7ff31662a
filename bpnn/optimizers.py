"""Gradient-descent optimizers: SGD (with momentum and Nesterov) and Adam.

``step(xp, params, grads)`` updates the parameter arrays in place.  They are
buffers the network created itself, so in-place updates are safe and spare an
allocation per parameter and step.  The gradients are fresh arrays of the
backward pass and are consumed: SGD scales them in place (``dW *= lr;
W -= dW``) rather than allocating ``lr * dW``, a temporary the size of the
largest weight matrix every step; better, plain SGD has the backward pass fold
``lr`` into the output delta (:meth:`Optimizer.fold_scale`), and its step is
then ``W -= dW`` alone.  Hyper-parameters are Python floats, so
every product keeps the arrays' dtype on every backend.
"""

from __future__ import annotations

import math

from .errors import InputError
from .registry import Configurable, lookup
from .validation import non_negative_float


class Optimizer(Configurable):
    """Base class.

    Parameters
    ----------
    lr : float
        The learning rate (a mutable attribute, for schedules).
    """

    def __init__(self, lr):
        self.lr = non_negative_float(lr, "lr")
        self._params = None

    def step(self, xp, params, grads, prescaled=False):
        """Update every array of ``params`` in place from the matching ``grads``
        (fresh arrays of the backward pass, which the step may overwrite).

        ``prescaled``: the gradients already carry the factor :meth:`fold_scale`
        gave (the backward pass folded it into the output delta).
        """
        raise NotImplementedError

    def fold_scale(self):
        """The factor this step would first multiply every gradient by, if that is all
        it does with them (plain SGD: ``lr``); ``None`` otherwise.

        The training loop then has the backward pass fold the factor into the
        output delta (one small array) and calls ``step(..., prescaled=True)``:
        no pass over the weights' gradients to scale them.
        """
        return None

    def follow(self, params):
        """Reset the state when ``params`` are not the arrays it was built for.

        One optimizer object may then serve several networks in turn (on any
        backends) without carrying one network's moments into another's.  The
        training loop calls it before it snapshots the state; :meth:`step` too.
        """
        if params is self._params:
            return
        previous = self._params
        if previous is None or len(previous) != len(params) or any(
                a is not b for a, b in zip(previous, params)):
            self.reset()
        self._params = params

    def reset(self):
        """Forget the optimizer's state (moments, step count)."""

    def state_arrays(self):
        """The live arrays of the state (velocities, moments), empty before the first step."""
        return []

    def state_scalars(self):
        """The numbers of the state besides :meth:`config` (Adam's step count)."""
        return {}

    def load_state(self, params, scalars, arrays):
        """Take a state saved by :meth:`state_scalars` and :meth:`state_arrays` for ``params``.

        ``arrays`` are device arrays that become the optimizer's own; an empty
        list means no state yet.
        """
        self.reset()
        self._params = params
        self._load(scalars, list(arrays))

    def _load(self, scalars, arrays):
        if arrays:
            raise InputError(f"{type(self).__name__} keeps no arrays, got {len(arrays)}")

    def config(self):
        return {"lr": self.lr}


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
        In ``[0, 1)``.
    nesterov : bool, default False
    """

    name = "sgd"

    def __init__(self, lr=0.01, momentum=0.0, nesterov=False):
        super().__init__(lr)
        self.momentum = non_negative_float(momentum, "momentum")
        if self.momentum >= 1.0:
            raise InputError(f"momentum must be in [0, 1), got {momentum!r}")
        self.nesterov = bool(nesterov)
        self.velocities = None

    def fold_scale(self):
        return self.lr if self.momentum == 0.0 else None

    def step(self, xp, params, grads, prescaled=False):
        lr = self.lr
        if self.momentum == 0.0:
            for W, dW in zip(params, grads):
                if not prescaled:
                    dW *= lr  # the gradient is ours to consume: no temporary
                W -= dW
            return
        mu = self.momentum
        self.follow(params)
        if self.velocities is None:
            self.velocities = [xp.zeros_like(W) for W in params]
        for W, dW, V in zip(params, grads, self.velocities):
            dW *= lr
            V *= mu
            V -= dW
            if self.nesterov:  # W += mu V - lr dW, without temporaries
                W -= dW
                dW[...] = V
                dW *= mu
                W += dW
            else:
                W += V

    def reset(self):
        self.velocities = None

    def state_arrays(self):
        return list(self.velocities or [])

    def _load(self, scalars, arrays):
        self.velocities = arrays or None

    def config(self):
        return {"lr": self.lr, "momentum": self.momentum, "nesterov": self.nesterov}


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
        for value, label in ((beta_1, "beta_1"), (beta_2, "beta_2")):
            if not 0.0 <= float(value) < 1.0:
                raise InputError(f"{label} must be in [0, 1), got {value!r}")
        self.beta_1 = float(beta_1)
        self.beta_2 = float(beta_2)
        self.eps = non_negative_float(eps, "eps")
        self.t = 0
        self.moments = None

    def step(self, xp, params, grads, prescaled=False):
        self.follow(params)
        if self.moments is None:
            self.moments = [(xp.zeros_like(W), xp.zeros_like(W)) for W in params]
        self.t += 1
        b1, b2 = self.beta_1, self.beta_2
        lr_t = self.lr * math.sqrt(1.0 - b2 ** self.t) / (1.0 - b1 ** self.t)
        for W, dW, (M, S) in zip(params, grads, self.moments):
            M *= b1
            M += (1.0 - b1) * dW
            S *= b2
            S += (1.0 - b2) * (dW * dW)
            W -= lr_t * M / (xp.sqrt(S) + self.eps)

    def reset(self):
        self.t = 0
        self.moments = None

    def state_arrays(self):
        return [array for pair in (self.moments or []) for array in pair]

    def state_scalars(self):
        return {"t": self.t}

    def _load(self, scalars, arrays):
        self.t = int(scalars.get("t", 0))
        self.moments = list(zip(arrays[0::2], arrays[1::2])) or None

    def config(self):
        return {"lr": self.lr, "beta_1": self.beta_1, "beta_2": self.beta_2, "eps": self.eps}


from .registry import Registry  # noqa: E402 - beside the registry it builds

#: The optimizers :func:`get_optimizer` knows by name: ``{name: class}``, open to new
#: ones through :func:`register_optimizer` (a checkpoint names its optimizer by it).
OPTIMIZERS = Registry("optimizer", Optimizer, key=lambda cls: str(cls.name).lower())


def register_optimizer(cls=None, *, name=None):
    """Class decorator: let :func:`get_optimizer` (and ``fit(optimizer="...")``) find an
    :class:`Optimizer` subclass by its :attr:`~bpnn.registry.Configurable.name` (or
    ``name``), in lower case as lookups are."""
    return OPTIMIZERS.register(cls, name=name.lower() if isinstance(name, str) else name)


register_optimizer(SGD)
register_optimizer(Adam)


def get_optimizer(optimizer, **params):
    """An optimizer by name (``"sgd"``, ``"adam"``) with keyword arguments, or an instance.

    Raises
    ------
    ValueError
        For an unknown name or parameter.
    """
    return lookup(optimizer, OPTIMIZERS, Optimizer, "optimizer", **params)

