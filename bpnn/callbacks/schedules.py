"""Changing the learning rate between epochs: a schedule, or a cut on a plateau."""

from __future__ import annotations

import math

from ..errors import InputError
from .base import Callback
from .monitor import MonitorCallback


def _checked_lr(value, source):
    try:
        lr = float(value)
    except (TypeError, ValueError):
        lr = math.nan
    if not (math.isfinite(lr) and lr >= 0.0):
        raise InputError(f"{source} gave the learning rate {value!r}; it must be a finite "
                         "number >= 0")
    return lr


class LearningRateScheduler(Callback):
    """Set the learning rate before every epoch from ``schedule(epoch, lr)``.

    Parameters
    ----------
    schedule : callable
        ``schedule(epoch, lr) -> new lr``, with ``epoch`` 0-based and ``lr`` the
        current rate, e.g. ``lambda epoch, lr: 0.1 * 0.5 ** (epoch // 10)``.
    verbose : bool, default False
        Print each change.

    Examples
    --------
    >>> import bpnn
    >>> X, T = bpnn.datasets.sin_regression()
    >>> net = bpnn.mlp([1, 3, 1], seed=0)
    >>> halve = bpnn.LearningRateScheduler(lambda epoch, lr: 0.4 / 2 ** epoch)
    >>> net.fit(X, T, epochs=3, optimizer="sgd", callbacks=[halve])["lr"]
    [0.4, 0.2, 0.1]
    """

    def __init__(self, schedule, verbose=False):
        if not callable(schedule):
            raise TypeError(f"schedule must be callable, got {type(schedule).__name__}")
        self.schedule = schedule
        self.verbose = bool(verbose)

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        lr = _checked_lr(self.schedule(epoch, optimizer.lr), "the schedule")
        if self.verbose and lr != optimizer.lr:
            print(f"Epoch {epoch + 1}: learning rate set to {lr:.6g}")
        optimizer.lr = lr


class ReduceLROnPlateau(MonitorCallback):
    """Multiply the learning rate by ``factor`` when ``logs[monitor]`` stops improving.

    Parameters
    ----------
    monitor : str, default "val_loss"
    factor : float, default 0.1
        In ``(0, 1)``; scikit-learn's ``learning_rate="adaptive"`` is ``factor=0.2,
        patience=2, min_delta=tol, monitor="loss"``.
    patience : int, default 10
        Epochs without improvement before the cut.
    mode : {"auto", "min", "max"}, default "auto"
    min_delta : float, default 1e-4
    cooldown : int, default 0
        Epochs after a cut that do not count towards the next one (an
        improvement in them still counts as one).
    min_lr : float, default 0.0
        The rate is never cut below this.
    verbose : bool, default False

    Attributes
    ----------
    cuts : list of (int, float)
        ``(epoch, new lr)`` of every cut.
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, mode="auto", min_delta=1e-4,
                 cooldown=0, min_lr=0.0, verbose=False):
        factor = float(factor)
        if not 0.0 < factor < 1.0:
            raise InputError(f"factor must be in (0, 1), got {factor!r}")
        self.factor = factor
        self.cooldown = int(cooldown)
        self.min_lr = _checked_lr(min_lr, "min_lr")
        self.verbose = bool(verbose)
        super().__init__(monitor, mode, min_delta, patience)

    def reset(self):
        super().reset()
        self.cooldown_left = 0
        self.cuts = []

    _state = ("best", "wait", "cooldown_left", "cuts")

    def set_state(self, values, arrays):
        super().set_state(values, arrays)
        self.cuts = [tuple(cut) for cut in self.cuts]

    def on_epoch_end(self, epoch, logs=None):
        value = self.current(logs)
        if self.improved(value, self.best):
            self.best, self.wait = value, 0
            return
        if self.cooldown_left > 0:  # the epochs right after a cut are not counted
            self.cooldown_left -= 1
            return
        self.wait += 1
        optimizer = self.model.optimizer
        if self.wait >= max(self.patience, 1) and optimizer.lr > self.min_lr:
            optimizer.lr = max(optimizer.lr * self.factor, self.min_lr)
            self.cuts.append((epoch, optimizer.lr))
            if self.verbose:
                print(f"Epoch {epoch + 1}: {self.monitor} has not improved for {self.wait} "
                      f"epochs; learning rate cut to {optimizer.lr:.6g}")
            self.wait = 0
            self.cooldown_left = self.cooldown
