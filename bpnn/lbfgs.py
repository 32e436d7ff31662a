"""Full-batch L-BFGS on a network, written against the Array API standard.

The parameters are packed into one flat vector ``x``; the limited-memory
BFGS direction comes from the two-loop recursion over the last ``memory``
pairs ``s = x_{k+1} - x_k``, ``y = g_{k+1} - g_k`` (Nocedal & Wright,
Numerical Optimization, Algorithm 7.4), and the step from a line search
that meets the strong Wolfe conditions (Algorithms 3.5 and 3.6)::

    f(x + a d) <= f(x) + c1 a g.d          (sufficient decrease)
    |g(x + a d).d| <= c2 |g.d|              (curvature)

Every vector operation runs on the network's device; only scalars (the loss,
dot products) cross to the host, a few per function evaluation.  It stops as
SciPy's L-BFGS-B does: when ``max |g| <= gtol``, when the relative decrease
of ``f`` falls to ``ftol``, or after ``max_iter`` iterations or ``max_fun``
evaluations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .distributed import start_record
from .divergence import DivergenceError
from .errors import InputError
from .flat import read_flat

#: SciPy's default ``ftol`` (its ``factr`` of 1e7 times the float64 epsilon).
FTOL = 1e7 * 2.220446049250313e-16
C1, C2 = 1e-4, 0.9


@dataclass
class LBFGSResult:
    """What :func:`lbfgs` did.

    Attributes
    ----------
    loss : float
        The final loss (penalty included).
    n_iter : int
        Iterations (line searches) taken.
    n_fun : int
        Loss and gradient evaluations.
    converged : bool
        Stopped by ``gtol`` or ``ftol``, not by a limit.
    message : str
        Why it stopped.
    losses : list of float
        The loss after each iteration.
    """

    loss: float
    n_iter: int
    n_fun: int
    converged: bool
    message: str
    losses: list


class _Objective:
    """``f(x), g(x)`` of the network's mean loss at the flat parameter vector ``x``.

    Distributed, each rank evaluates its contiguous piece of the rows, its
    gradient scaled by its share, and one sum over the ranks gives every rank
    the same ``f`` and ``g``: the iterations then agree on every rank.
    """

    def __init__(self, network, X, T, *, w, l2, l2_shared, max_fun, distributed=None):
        self.network, self.X, self.T, self.w = network, X, T, w
        self.penalty = {"l2": l2, "l2_shared": l2_shared}
        self.distributed = distributed
        self.n_rows = X.shape[0]
        if distributed is not None:
            if w is not None:
                raise InputError("distributed L-BFGS takes no sample weights")
            low, high = distributed.shard(0, self.n_rows)
            self.X, self.T = X[low:high, ...], T[low:high, ...]
        self.xp = network.backend.xp
        self.params = network.parameters
        self.max_fun = max_fun
        self.calls = 0

    def pack(self, arrays):
        xp = self.xp
        return xp.concat([xp.reshape(array, (-1,)) for array in arrays])

    def unpack(self, x):
        """Write ``x`` into the network's parameters (in place where the library allows)."""
        read_flat(self.xp, x, self.params)
        self.network.adopt_parameters(self.params)

    def __call__(self, x):
        self.calls += 1
        self.unpack(x)
        if self.distributed is None:
            loss, grads = self.network.loss_and_gradients(self.xp, self.X, self.T, w=self.w,
                                                          **self.penalty)
        else:  # the whole data is one global batch
            loss, grads = self.distributed.loss_and_gradients(
                self.network, self.xp, self.X, self.T, self.n_rows, **self.penalty)
        return float(loss), self.pack(grads)


def _dot(xp, a, b):
    """``a . b`` of two flat vectors, as a float (no temporary ``a * b``)."""
    return float(xp.vecdot(a, b))


def _two_loop(xp, g, pairs):
    """``-H g`` for the L-BFGS inverse-Hessian estimate ``H`` of the stored pairs."""
    q = -g
    alphas = []
    for s, y, rho in reversed(pairs):
        alpha = rho * _dot(xp, s, q)
        q = q - alpha * y
        alphas.append(alpha)
    if pairs:
        s, y, _ = pairs[-1]
        q = (_dot(xp, s, y) / _dot(xp, y, y)) * q  # H0 = (s.y / y.y) I
    for (s, y, rho), alpha in zip(pairs, reversed(alphas)):
        beta = rho * _dot(xp, y, q)
        q = q + (alpha - beta) * s
    return q


def _cubic_minimum(a, fa, da, b, fb, db):
    """The minimizer of the cubic through ``(a, fa, da)`` and ``(b, fb, db)``, or ``None``."""
    d1 = da + db - 3.0 * (fa - fb) / (a - b)
    radicand = d1 * d1 - da * db
    if radicand < 0.0:
        return None
    d2 = math.copysign(math.sqrt(radicand), b - a)
    denominator = db - da + 2.0 * d2
    if denominator == 0.0:
        return None
    return b - (b - a) * (db + d2 - d1) / denominator


def _line_search(objective, x, f, g, d, step, xp):
    """A step ``a`` along ``d`` meeting the strong Wolfe conditions.

    Returns ``(a, f, g)`` at the accepted point, or ``None`` when none was
    found (the evaluation budget ran out, the loss was not finite, or the
    interval collapsed).
    """
    d0 = _dot(xp, g, d)

    def phi(a):
        fa, ga = objective(x + a * d)
        return fa, ga, (_dot(xp, ga, d) if math.isfinite(fa) else math.nan)

    def zoom(lo, hi):
        (a_lo, f_lo, d_lo, g_lo), (a_hi, f_hi, d_hi, _) = lo, hi
        for _ in range(30):
            if objective.calls >= objective.max_fun:
                return None
            a = _cubic_minimum(a_lo, f_lo, d_lo, a_hi, f_hi, d_hi)
            low, high = sorted((a_lo, a_hi))
            margin = 0.1 * (high - low)
            if a is None or not (low + margin <= a <= high - margin):
                a = 0.5 * (a_lo + a_hi)  # safeguard: bisect
            fa, ga, da = phi(a)
            if not math.isfinite(fa) or fa > f + C1 * a * d0 or fa >= f_lo:
                # a non-finite trial keeps d_hi NaN: the next trial bisects
                a_hi, f_hi, d_hi = a, (fa if math.isfinite(fa) else math.inf), da
            else:
                if abs(da) <= -C2 * d0:
                    return a, fa, ga
                if da * (a_hi - a_lo) >= 0.0:
                    a_hi, f_hi, d_hi = a_lo, f_lo, d_lo
                a_lo, f_lo, d_lo, g_lo = a, fa, da, ga
            if abs(a_hi - a_lo) <= 1e-12 * max(1.0, abs(a_lo)):
                break
        return (a_lo, f_lo, g_lo) if a_lo > 0.0 else None

    previous = (0.0, f, d0, g)
    a = step
    for attempt in range(30):
        if objective.calls >= objective.max_fun:
            return None
        fa, ga, da = phi(a)
        if not math.isfinite(fa):  # too far: into overflow; come back
            a = 0.5 * (previous[0] + a)
            continue
        if fa > f + C1 * a * d0 or (attempt > 0 and fa >= previous[1]):
            return zoom(previous, (a, fa, da, ga))
        if abs(da) <= -C2 * d0:
            return a, fa, ga
        if da >= 0.0:
            return zoom((a, fa, da, ga), previous)
        previous = (a, fa, da, ga)
        a *= 2.0
    return None


def _check_start(xp, f, g):
    """Raise :class:`DivergenceError` when the loss ``f`` or the gradient ``g`` at the
    starting point is NaN or infinite: no line search can start from there."""
    if math.isfinite(f) and bool(xp.all(xp.isfinite(g))):
        return
    what = f"the loss is {f}" if not math.isfinite(f) else "the gradient has NaN or infinity"
    raise DivergenceError(
        f"L-BFGS cannot start: at the initial weights {what}. The weights are left as they "
        "were. Scale the data (standardize the features, and the targets of a regression), "
        "check the inputs and targets for values near the float range's limits, or start "
        "from smaller weights.", epoch=None, step=0)


def lbfgs(network, X, T, *, w=None, l2=0.0, l2_shared=False, max_iter=200, max_fun=15000,
          gtol=1e-5, ftol=FTOL, memory=10, callback=None, distributed=None):
    """Minimize the network's loss over all of ``(X, T)`` by L-BFGS, in place.

    Parameters
    ----------
    network : Network
        Built; its parameters are the starting point and hold the result.
    X, T : arrays
        Validated device arrays (see :meth:`Network._data`).
    w : array, shape (n_samples, 1), optional
        Sample weights.
    l2, l2_shared
        The L2 penalty, as in :func:`bpnn.training.fit`.
    max_iter : int, default 200
        The most iterations.
    max_fun : int, default 15000
        The most loss and gradient evaluations.
    gtol : float, default 1e-5
        Stop when every gradient entry is at most this in absolute value.
    ftol : float
        Stop when ``(f_k - f_{k+1}) / max(|f_k|, |f_{k+1}|, 1) <= ftol``.
    memory : int, default 10
        Correction pairs kept.
    callback : callable, optional
        ``callback(iteration, loss)`` after each iteration.
    distributed : Distributed, optional
        Every rank of the MPI job calls this with the same data and starting
        weights (see :mod:`bpnn.distributed`); each evaluates its piece of the
        rows and one ``Allreduce`` per evaluation sums them.

    Returns
    -------
    LBFGSResult

    Raises
    ------
    DivergenceError
        The loss or its gradient at the starting point is NaN or infinite.
    InputError
        The network has a layer that draws random numbers in training (Dropout):
        its loss is then a random function, which the line search cannot take.

    Notes
    -----
    The parameters end at the last point the line search accepted; that
    point's loss is finite.
    """
    random = [type(layer).__name__ for layer in network.layers if layer.stochastic]
    if random:
        raise InputError(f"L-BFGS needs a loss that is a function of the weights; {random[0]} "
                         "draws a new mask every evaluation. Train with fit (SGD, Adam), or "
                         "remove the layer.")
    xp = network.backend.xp
    # the backend's device current for every array made below (CuPy's creation functions
    # ignore device=), its warnings silent; a step's freed host memory is reused
    with network.backend.scope(), network.backend.training_memory():
        if distributed is not None:
            with distributed.starting() as start:  # every rank the same data and options
                start.agree(start_record(network, (X, T, w), l2=l2, l2_shared=l2_shared,
                                         max_iter=max_iter, max_fun=max_fun, gtol=gtol,
                                         ftol=ftol, memory=memory))
            distributed.synchronize_start(network)
        objective = _Objective(network, X, T, w=w, l2=l2, l2_shared=l2_shared, max_fun=max_fun,
                               distributed=distributed)
        x = objective.pack(network.parameters)
        f, g = objective(x)
        losses = []
        _check_start(xp, f, g)
        pairs = []
        message, converged, iteration = "", False, 0
        while True:
            if float(xp.max(xp.abs(g))) <= gtol:
                message, converged = "the gradient is below gtol", True
                break
            if iteration >= max_iter:
                message = f"reached max_iter={max_iter} iterations"
                break
            if objective.calls >= max_fun:
                message = f"reached max_fun={max_fun} evaluations"
                break
            d = _two_loop(xp, g, pairs)
            if not _dot(xp, g, d) < 0.0:  # not a descent direction: start over from -g
                pairs, d = [], -g
            step = 1.0 if pairs else min(1.0, 1.0 / float(xp.sum(xp.abs(g))))
            found = _line_search(objective, x, f, g, d, step, xp)
            if found is None:
                message = (f"reached max_fun={max_fun} evaluations" if objective.calls >= max_fun
                           else "the line search found no acceptable step")
                break
            a, f_new, g_new = found
            x_new = x + a * d
            s, y = x_new - x, g_new - g
            sy = _dot(xp, s, y)
            if sy > 1e-10 * _dot(xp, y, y):  # keep H positive definite
                pairs.append((s, y, 1.0 / sy))
                if len(pairs) > memory:
                    pairs.pop(0)
            iteration += 1
            decrease = (f - f_new) / max(abs(f), abs(f_new), 1.0)
            x, f, g = x_new, f_new, g_new
            losses.append(f)
            if callback is not None:
                callback(iteration, f)
            if decrease <= ftol:
                message, converged = "the relative decrease of the loss is below ftol", True
                break
        objective.unpack(x)  # the accepted point (the last evaluation may have been a trial)
    return LBFGSResult(loss=f, n_iter=iteration, n_fun=objective.calls, converged=converged,
                       message=message, losses=losses)
