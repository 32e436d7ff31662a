"""Divergence: finding the step where training went non-finite, and going back.

The training loop checks for NaN and infinity once per epoch (the loss sum
and the weights), so a healthy run pays nothing per step and a GPU run never
waits on the device mid-epoch.  When an epoch fails the check, the weights
and the optimizer go back to the start of the epoch and :func:`locate`
replays it step by step with a check after each: the error then names the
exact step, and the network keeps the weights from just before it.
"""

from __future__ import annotations

import math

from .update import assign


class DivergenceError(FloatingPointError, ValueError):
    """Training produced a NaN or infinite loss or weight.

    The network keeps its last finite weights (those before the failing
    step); no checkpoint is written from a diverged state.

    A ``FloatingPointError`` and, as scikit-learn's estimators raise a
    ``ValueError`` for a solver that produced non-finite weights, a
    ``ValueError`` too: code that catches either catches it.

    Attributes
    ----------
    epoch, step : int or None
        Where it happened (0-based; the step within the epoch).
    """

    def __init__(self, message, epoch=None, step=None):
        super().__init__(message)
        self.epoch = epoch
        self.step = step


def all_finite(xp, arrays):
    """Whether every entry of every array is finite (one device sync)."""
    checks = [xp.all(xp.isfinite(array)) for array in arrays]
    return all(bool(check) for check in checks)


class Snapshot:
    """A device copy of the weights and the optimizer's state, refreshed in place,
    and the random stream's state after the epoch's shuffle (:meth:`take_stream`).

    The buffers are allocated once and reused, so taking a snapshot every
    epoch allocates nothing after the first (where arrays are immutable, the
    snapshot holds the arrays themselves: nothing can change them).  Restoring the
    stream makes a replayed or retried epoch draw the same dropout masks as the
    first try.
    """

    def __init__(self, network, optimizer):
        self.network = network
        self.optimizer = optimizer
        self.weights = network.copy_parameters()
        self.state = []
        self.scalars = {}
        self.stream = None
        #: only a network with random layers needs the stream back (a state is cheap
        #: for PCG64, but scikit-learn's stream carries the whole order)
        self.random = any(layer.stochastic for layer in network.layers)

    def take(self):
        self.network.copy_parameters(out=self.weights)
        live = self.optimizer.state_arrays()
        xp = self.network.backend.xp
        if [tuple(a.shape) for a in live] != [tuple(a.shape) for a in self.state]:
            self.state = [xp.asarray(array, copy=True) for array in live]
        else:
            self.state = [assign(xp, saved, array) for saved, array in zip(self.state, live)]
        self.scalars = dict(self.optimizer.state_scalars())
        self.stream = None

    def take_stream(self):
        """Keep the random stream's state: call it once the epoch's order is drawn."""
        if self.random:
            self.stream = self.network.rng.state

    def restore(self):
        self.network.restore_parameters(self.weights)
        xp = self.network.backend.xp
        self.optimizer.load_state(self.network.parameters, self.scalars,
                                  [xp.asarray(array, copy=True) for array in self.state])
        if self.stream is not None:
            self.network.rng.state = self.stream


def locate(network, xp, batches, step):
    """Replay an epoch's ``batches`` from its start, one checked step at a time, with the
    run's :class:`~bpnn.steps.TrainStep` (so each replayed step is the step taken).

    Returns ``(step, what)`` for the first step whose loss is not finite or
    whose update makes a weight non-finite, the network left with the
    weights from before that step; ``None`` if the replay stays finite.
    """
    before = network.copy_parameters()
    for index, arrays in enumerate(batches):
        network.copy_parameters(out=before)
        params = network.parameters  # anew: where arrays are immutable, restoring makes new
        loss = step(xp, params, arrays)
        value = float(loss)
        if not math.isfinite(value):
            network.restore_parameters(before)
            return index, f"the loss became {value}"
        if not all_finite(xp, params):
            network.restore_parameters(before)
            return index, "the update made a weight NaN or infinite"
    return None
