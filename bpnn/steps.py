"""One training step on one batch: shared by the training loop and the divergence replay,
so a replayed step is bit for bit the step that was taken."""

from __future__ import annotations


def train_step(network, optimizer, xp, arrays, l2=0.0, l2_shared=False):
    """The loss of the batch ``arrays`` (``(X, T)`` or ``(X, T, w)``), then one update.

    When the optimizer's step only scales the gradients before applying them
    (plain SGD: :meth:`~bpnn.optimizers.Optimizer.fold_scale`), the scale is
    folded into the output delta of the backward pass and the step applies
    the gradients as they come: no pass over them.

    Returns
    -------
    0-d array
        The batch's mean loss before the update (on the device).
    """
    w = arrays[2] if len(arrays) > 2 else None
    scale = optimizer.fold_scale()  # per step: a callback may change lr between batches
    loss, grads = network.loss_and_gradients(xp, arrays[0], arrays[1], l2, w, l2_shared,
                                             1.0 if scale is None else scale)
    optimizer.step(xp, network.parameters, grads, scale is not None)
    return loss
