"""``solver="lbfgs"`` on the numpy backend: scikit-learn's own path.

scikit-learn minimizes its MLP's loss with SciPy's L-BFGS-B
(``scipy.optimize.minimize(method="L-BFGS-B")``) on one flat float64 vector,
every weight matrix then every bias vector, with ``maxiter=max_iter``,
``maxfun=max_fun`` and ``gtol=tol``.  On NumPy data the estimators do the
same with the network's loss and gradient (:meth:`bpnn.Network.loss_and_gradients`,
the penalty shared as scikit-learn shares ``alpha``), so the same
``random_state`` gives scikit-learn's iterations, its evaluation count and its
warnings.  Distributed, every rank evaluates its piece of the rows and one
sum over the ranks gives each the same loss and gradient, so SciPy's
iterations agree on every rank (as in :func:`bpnn.lbfgs.lbfgs`).  SciPy works
on the host: every other backend keeps :func:`bpnn.lbfgs.lbfgs`, written
against the Array API standard.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.optimize

from ..distributed import start_record
from ..divergence import DivergenceError
from ..errors import InputError
from ..lbfgs import LBFGSResult
from .weights import pack, unpack

#: scikit-learn's message for a solver that ended on NaN or infinite weights.
NON_FINITE = ("Solver produced non-finite parameter weights. The input data may contain "
              "large values and need to be preprocessed.")


def objective(network, X, T, w, alpha, distributed=None):
    """``f(x), g(x)``: the mean loss (penalty included) and its gradient at the flat
    vector ``x`` (scikit-learn's packing), written into the network first;
    ``distributed``, summed over the ranks, each evaluating its piece of the rows."""
    xp = network.backend.xp
    n_rows = X.shape[0]
    if distributed is not None:
        if w is not None:
            raise InputError("distributed L-BFGS takes no sample weights")
        low, high = distributed.shard(0, n_rows)
        X, T = X[low:high, ...], T[low:high, ...]

    def f(x):
        unpack(network, x)
        if distributed is None:
            loss, grads = network.loss_and_gradients(xp, X, T, w=w, l2=alpha, l2_shared=True)
        else:  # the whole data is one global batch
            loss, grads = distributed.loss_and_gradients(network, xp, X, T, n_rows, l2=alpha,
                                                         l2_shared=True)
        return float(loss), pack(network, grads)

    return f


def scipy_lbfgs(network, X, T, *, w, alpha, max_iter, max_fun, tol, distributed=None):
    """scikit-learn's L-BFGS run on the network (device arrays of the numpy backend).

    Returns
    -------
    LBFGSResult
        ``n_iter`` as scikit-learn counts it (at most ``max_iter``), ``losses``
        the loss after each iteration.

    Raises
    ------
    DivergenceError
        The loss or its gradient is NaN or infinite at the start, or the run
        ended on non-finite weights (the starting weights are then restored).
    """
    if distributed is not None:
        with distributed.starting() as start:  # every rank the same data and options
            start.agree(start_record(network, (X, T, w), l2=alpha, l2_shared=True,
                                     max_iter=max_iter, max_fun=max_fun, gtol=tol,
                                     solver="scipy"))
        distributed.synchronize_start(network)
    f = objective(network, X, T, w, alpha, distributed)
    start = pack(network, network.parameters)
    calls = {"n": 0}
    losses = []

    def checked(x):
        value, gradient = f(x)
        calls["n"] += 1
        if calls["n"] == 1 and not (math.isfinite(value) and np.isfinite(gradient).all()):
            unpack(network, start)
            raise DivergenceError(f"{NON_FINITE} L-BFGS cannot start: at the initial weights "
                                  f"the loss is {value} or its gradient is not finite.",
                                  epoch=None, step=0)
        return value, gradient

    result = scipy.optimize.minimize(
        checked, start, method="L-BFGS-B", jac=True,
        options={"maxfun": max_fun, "maxiter": max_iter, "gtol": tol},
        callback=lambda intermediate_result: losses.append(float(intermediate_result.fun)))
    if not np.isfinite(result.x).all():
        unpack(network, start)
        raise DivergenceError(f"{NON_FINITE} (L-BFGS ended on NaN or infinite weights; the "
                              "starting weights are kept.)", epoch=None, step=None)
    unpack(network, result.x)
    message = result.message if isinstance(result.message, str) else result.message.decode()
    return LBFGSResult(loss=float(result.fun), n_iter=min(int(result.nit), max_iter),
                       n_fun=int(result.nfev), converged=result.status == 0,
                       message=message, losses=losses)
