"""Stop training when a monitored figure stops improving."""

from __future__ import annotations

from .monitor import MonitorCallback


class EarlyStopping(MonitorCallback):
    """Stop when ``logs[monitor]`` has not improved for ``patience`` epochs.

    An epoch improves when its value beats the best so far by more than
    ``min_delta``.  After ``patience`` epochs in a row without improvement
    the run stops at the end of that epoch.

    Parameters
    ----------
    monitor : str, default "val_loss"
        ``"val_loss"`` needs ``validation_data`` in ``fit``; ``"loss"`` watches
        the training loss.
    min_delta : float, default 0.0
    patience : int, default 10
        Epochs without improvement to allow; 0 stops at the first one.
    mode : {"auto", "min", "max"}, default "auto"
    baseline : float, optional
        A value the monitor must beat: until it does, no epoch counts as an
        improvement for the patience count.
    restore_best_weights : bool, default False
        At the end of training, put back the weights of the best epoch (also
        when the run was not stopped early, so the network always ends on its
        best epoch).  The copy stays on the device.
    start_from_epoch : int, default 0
        Epochs to let pass before watching (a warm-up).

    Attributes
    ----------
    best : float
        The best value seen.
    best_epoch : int or None
        The epoch that reached it.
    stopped_epoch : int or None
        The epoch after which training stopped, ``None`` when it ran to the end.

    Examples
    --------
    >>> import bpnn
    >>> X, T = bpnn.datasets.sin_regression()
    >>> net = bpnn.mlp([1, 8, 1], activation="tanh", seed=0)
    >>> stop = bpnn.EarlyStopping(monitor="loss", patience=3, min_delta=1e-3,
    ...                           restore_best_weights=True)
    >>> history = net.fit(X, T, epochs=500, optimizer="adam", callbacks=[stop])
    >>> stop.stopped_epoch is not None and len(history) == stop.stopped_epoch + 1
    True
    """

    def __init__(self, monitor="val_loss", min_delta=0.0, patience=10, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        self.baseline = None if baseline is None else float(baseline)
        self.restore_best_weights = bool(restore_best_weights)
        self.start_from_epoch = int(start_from_epoch)
        super().__init__(monitor, mode, min_delta, patience)

    def reset(self):
        super().reset()
        self.best_epoch = None
        self.stopped_epoch = None
        self.best_weights = None

    _state = ("best", "wait", "best_epoch", "stopped_epoch")

    def get_state(self):
        values, _ = super().get_state()
        return values, list(self.best_weights or [])

    def set_state(self, values, arrays):
        super().set_state(values, arrays)
        self.best_weights = list(arrays) or None

    def on_epoch_end(self, epoch, logs=None):
        if epoch < self.start_from_epoch:
            return
        value = self.current(logs)
        self.wait += 1
        if self.improved(value, self.best):
            self.best, self.best_epoch = value, epoch
            if self.restore_best_weights:
                # the copy buffers are reused from improvement to improvement
                self.best_weights = self.model.copy_parameters(out=self.best_weights)
            if self.baseline is None or self.improved(value, self.baseline):
                self.wait = 0
                return
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self.best_weights is not None:
            self.model.restore_parameters(self.best_weights)
        self.best_weights = None  # the network holds them now; free the device memory
