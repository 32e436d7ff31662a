"""One training step on one batch: shared by the training loop and the divergence replay,
so a replayed step is bit for bit the step that was taken."""

from __future__ import annotations


def train_step(network, optimizer, xp, arrays, l2=0.0, l2_shared=False, distributed=None):
    """The loss of the batch ``arrays`` (``(X, T)`` or ``(X, T, w)``), then one update.

    When the optimizer's step only scales the gradients before applying them
    (plain SGD: :meth:`~bpnn.optimizers.Optimizer.fold_scale`), the scale is
    folded into the output delta of the backward pass and the step applies
    the gradients as they come: no pass over them.

    With ``distributed`` (a :class:`~bpnn.distributed.Distributed`), ``arrays``
    is ``(X, T, None, N)``: this rank's piece of a global batch of ``N`` rows.
    The piece's share ``n / N`` is folded into the delta too, and one sum over
    the ranks gives every rank the global batch's gradient and loss.

    Returns
    -------
    0-d array or float
        The batch's mean loss before the update (on the device).
    """
    w = arrays[2] if len(arrays) > 2 else None
    scale = optimizer.fold_scale()  # per step: a callback may change lr between batches
    prescaled = scale is not None
    scale = 1.0 if scale is None else scale
    params = network.parameters
    if distributed is None:
        loss, grads = network.loss_and_gradients(xp, arrays[0], arrays[1], l2, w, l2_shared,
                                                 scale)
    else:
        share = arrays[0].shape[0] / arrays[3]
        if l2_shared:  # shared by the global batch's rows (weights are not distributed)
            l2, l2_shared = l2 / arrays[3], False
        if share:
            loss, grads = network.loss_and_gradients(xp, arrays[0], arrays[1], l2, w,
                                                     l2_shared, scale * share)
            loss = loss * share
        else:  # a last global batch smaller than the number of ranks: nothing here
            loss, grads = 0.0, [xp.zeros_like(param) for param in params]
        loss = distributed.sum_gradients(network, grads, loss)
    optimizer.step(xp, params, grads, prescaled)
    return loss
