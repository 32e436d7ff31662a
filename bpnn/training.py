"""The training loop: online, minibatch and full-batch gradient descent."""

from __future__ import annotations

import math

from .callbacks import Callback, EpochLogger, History, ProgressBar, overrides
from .optimizers import get_optimizer
from .validation import non_negative_float, positive_int


class DivergenceError(FloatingPointError):
    """Training produced a non-finite loss; the network holds its last finite weights."""


def fit(network, X, T, *, epochs=1, batch_size=32, optimizer="sgd", shuffle=True, l2=0.0,
        validation_data=None, callbacks=(), verbose=0):
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
        An instance keeps its state (moments) across calls.  During the run it
        is ``network.optimizer``, where callbacks change its ``lr``.
    shuffle : bool, default True
        Reshuffle the samples every epoch.
    l2 : float, default 0.0
        L2 penalty ``l2/2 sum W²`` on the weights (not the biases).
    validation_data : tuple (X_val, T_val), optional
        Evaluated after every epoch as ``"val_loss"``.
    callbacks : Callback or sequence of Callback
        See :mod:`bpnn.callbacks`: early stopping, CSV logging, learning-rate
        schedules, gradient monitoring, or your own.
    verbose : {0, 1, 2}, default 0
        0 shows nothing, 1 a progress bar (epoch, batch, loss, validation
        loss, time left) on stderr, 2 one line per epoch on stdout.

    Returns
    -------
    History
        ``history["loss"]``: the mean training loss of each epoch, each
        sample's loss taken before its own update (the seed's ``Error``);
        ``history["lr"]``, and ``history["val_loss"]`` with validation data.

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
    if verbose not in (0, 1, 2) or isinstance(verbose, float):
        raise ValueError(f"verbose must be 0, 1 or 2, got {verbose!r}")
    if isinstance(callbacks, Callback):
        callbacks = [callbacks]
    for callback in callbacks:
        if not isinstance(callback, Callback):
            raise TypeError(f"callbacks must be bpnn Callback objects, got {type(callback).__name__}")

    X, T = network._data(X, T)
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise ValueError("validation_data must be a pair (X_val, T_val)")
        X_val, T_val = network._data(*validation_data)
    xp = network.backend.xp
    n = X.shape[0]
    step = n if batch_size is None else min(batch_size, n)
    # (start, stop) of every batch; stops stay in bounds (the standard leaves others undefined)
    bounds = [(start, min(start + step, n)) for start in range(0, n, step)]

    history = History()
    shown = {1: ProgressBar, 2: EpochLogger}.get(verbose)
    shown = [] if shown is None else [shown()]
    # History last: it records what every other callback added to the logs.
    callbacks = [*callbacks, *shown, history]
    per_batch = [callback for callback in callbacks if overrides(callback, "on_batch_end")]
    network.history = history
    network.optimizer = optimizer
    network.stop_training = False
    params = {"epochs": epochs, "steps": len(bounds), "samples": n, "batch_size": batch_size,
              "validation": validation_data is not None, "verbose": verbose}
    try:
        for callback in callbacks:
            callback.set_model(network)
            callback.set_params(params)
        for callback in callbacks:
            callback.on_train_begin({})
        _epochs(network, optimizer, xp, X, T, bounds, epochs, shuffle, l2, callbacks, per_batch,
                (X_val, T_val) if validation_data is not None else None)
        for callback in callbacks:
            callback.on_train_end({})
    finally:
        for callback in shown:
            callback.close()
    return history


def _epochs(network, optimizer, xp, X, T, bounds, epochs, shuffle, l2, callbacks, per_batch,
            validation):
    """The epoch loop of :func:`fit`, on validated device arrays."""
    n = X.shape[0]
    params = network.parameters
    loss_and_gradients = network.loss_and_gradients
    update = optimizer.step
    # The weights at the start of the epoch, to fall back on if it diverges;
    # allocated once, refreshed in place every epoch.
    snapshot = network.copy_parameters()
    for epoch in range(epochs):
        if epoch:
            network.copy_parameters(out=snapshot)
        for callback in callbacks:
            callback.on_epoch_begin(epoch, {})
        lr = optimizer.lr
        if shuffle:
            order = network.rng.permutation(n)
            Xe, Te = xp.take(X, order, axis=0), xp.take(T, order, axis=0)
        else:
            Xe, Te = X, T
        total = 0.0
        for batch, (start, stop) in enumerate(bounds):
            Xb, Tb = Xe[start:stop, ...], Te[start:stop, ...]
            loss, grads = loss_and_gradients(xp, Xb, Tb, l2)
            update(xp, params, grads)
            total = total + loss * (stop - start)  # stays on the device until the epoch ends
            if per_batch:
                logs = {"size": stop - start, "loss": total / stop}
                for callback in per_batch:
                    callback.on_batch_end(batch, logs)
        epoch_loss = float(total) / n
        if not math.isfinite(epoch_loss):
            network.restore_parameters(snapshot)
            optimizer.reset()
            raise DivergenceError(
                f"the loss became {epoch_loss} in epoch {epoch}; the weights are those from the "
                f"start of that epoch. Lower the learning rate (optimizer {optimizer!r}) or "
                f"scale the data.")
        logs = {"loss": epoch_loss}
        if validation is not None:
            logs["val_loss"] = float(network.loss_value(xp, *validation, l2))
        logs["lr"] = lr
        for callback in callbacks:
            callback.on_epoch_end(epoch, logs)
        if network.stop_training:
            break
