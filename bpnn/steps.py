"""One training step on one batch: shared by the training loop and the divergence replay,
so a replayed step is bit for bit the step that was taken."""

from __future__ import annotations


def train_step(network, optimizer, xp, params, arrays, l2=0.0, l2_shared=False,
               distributed=None):
    """The loss of the batch ``arrays`` (``(X, T)`` or ``(X, T, w)``), then one update of
    ``params`` (``network.parameters``, fetched once by the caller).

    When the optimizer's step only scales the gradients before applying them
    (plain SGD: :meth:`~bpnn.optimizers.Optimizer.fold_scale`), the scale is
    folded into the output delta of the backward pass and the step applies
    the gradients as they come: no pass over them.

    With ``distributed`` (a :class:`~bpnn.distributed.Distributed`), ``arrays``
    is ``(X, T, None, N)``: this rank's piece of a global batch of ``N`` rows
    (see :meth:`~bpnn.distributed.Distributed.loss_and_gradients`).

    Returns
    -------
    0-d array or float
        The batch's mean loss before the update (on the device).
    """
    scale = optimizer.fold_scale()  # per step: a callback may change lr between batches
    prescaled = scale is not None
    scale = 1.0 if scale is None else scale
    if distributed is None:
        w = arrays[2] if len(arrays) > 2 else None
        loss, grads = network.loss_and_gradients(xp, arrays[0], arrays[1], l2, w, l2_shared,
                                                 scale)
    else:
        loss, grads = distributed.loss_and_gradients(network, xp, arrays[0], arrays[1],
                                                     arrays[3], l2, l2_shared, scale)
    optimizer.step(xp, params, grads, prescaled)
    return loss
