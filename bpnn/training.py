"""The training loop: online, minibatch and full-batch gradient descent."""

from __future__ import annotations

import math

from .callbacks import Callback, History
from .optimizers import get_optimizer
from .validation import non_negative_float, positive_int


class DivergenceError(FloatingPointError):
    """Training produced a non-finite loss; the network holds its last finite weights."""


def fit(network, X, T, *, epochs=1, batch_size=32, optimizer="sgd", shuffle=True, l2=0.0,
        validation_data=None, callbacks=()):
    """Train ``network`` on ``(X, T)``.

    Each epoch draws a permutation of the samples from the network's seeded
    host stream (when ``shuffle``), cuts it into batches and takes one
    optimizer step per batch on the mean loss of the batch.

    Parameters
    ----------
    network : Network
    X : array_like, shape (n_samples, n_features)
    T : array_like, shape (n_samples, n_outputs) or (n_samples,)
        Targets; one-hot rows for cross-entropy.
    epochs : int, default 1
    batch_size : int or None, default 32
        1 is online learning (the seed's), ``None`` full-batch gradient
        descent; a size above ``n_samples`` means full batch too.
    optimizer : str or Optimizer, default "sgd"
        ``"sgd"``, ``"adam"``, or an instance such as ``SGD(lr=0.1, momentum=0.9)``.
        An instance keeps its state (moments) across calls.
    shuffle : bool, default True
        Reshuffle the samples every epoch.
    l2 : float, default 0.0
        L2 penalty ``l2/2 sum W²`` on the weights (not the biases).
    validation_data : tuple (X_val, T_val), optional
        Evaluated after every epoch as ``"val_loss"``.
    callbacks : sequence of Callback
        Called at the start, after each epoch and at the end.

    Returns
    -------
    History
        ``history["loss"]``: the mean training loss of each epoch, each
        sample's loss taken before its own update (the seed's ``Error``).

    Raises
    ------
    ValueError
        Bad data or options.
    DivergenceError
        The loss became NaN or infinite; the weights are restored to those at
        the start of that epoch.
    """
    epochs = positive_int(epochs, "epochs")
    batch_size = positive_int(batch_size, "batch_size", allow_none=True)
    l2 = non_negative_float(l2, "l2")
    optimizer = get_optimizer(optimizer)
    for callback in callbacks:
        if not isinstance(callback, Callback):
            raise TypeError(f"callbacks must be bpnn Callback objects, got {type(callback).__name__}")

    X, T = network._data(X, T)
    if validation_data is not None:
        X_val, T_val = network._data(*validation_data)
    xp = network.backend.xp
    n = X.shape[0]
    step = n if batch_size is None else min(batch_size, n)
    # (start, stop) of every batch; stops stay in bounds (the standard leaves others undefined)
    bounds = [(start, min(start + step, n)) for start in range(0, n, step)]

    history = History()
    callbacks = [history, *callbacks]
    network.history = history
    network.stop_training = False
    for callback in callbacks:
        callback.set_model(network)
        callback.on_train_begin({})

    params = network.parameters
    loss_and_gradients = network.loss_and_gradients
    update = optimizer.step
    # The weights at the start of the epoch, to fall back on if it diverges;
    # allocated once, refreshed in place every epoch.
    snapshot = [xp.asarray(param, copy=True) for param in params]
    for epoch in range(epochs):
        if epoch:
            for saved, param in zip(snapshot, params):
                saved[...] = param
        if shuffle:
            order = network.rng.permutation(n)
            Xe, Te = xp.take(X, order, axis=0), xp.take(T, order, axis=0)
        else:
            Xe, Te = X, T
        total = 0.0
        for start, stop in bounds:
            Xb, Tb = Xe[start:stop, ...], Te[start:stop, ...]
            loss, grads = loss_and_gradients(xp, Xb, Tb, l2)
            update(xp, params, grads)
            total = total + loss * Xb.shape[0]  # stays on the device until the epoch ends
        epoch_loss = float(total) / n
        if not math.isfinite(epoch_loss):
            for param, saved in zip(params, snapshot):
                param[...] = saved
            optimizer.reset()
            raise DivergenceError(
                f"the loss became {epoch_loss} in epoch {epoch}; the weights are those from the "
                f"start of that epoch. Lower the learning rate (optimizer {optimizer!r}) or "
                f"scale the data.")
        logs = {"loss": epoch_loss}
        if validation_data is not None:
            logs["val_loss"] = float(network.loss_value(xp, X_val, T_val, l2))
        for callback in callbacks:
            callback.on_epoch_end(epoch, logs)
        if network.stop_training:
            break
    for callback in callbacks:
        callback.on_train_end({})
    return history
