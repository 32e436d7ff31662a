"""Watching one logged figure for improvement: shared by early stopping and plateaus."""

from __future__ import annotations

import math

from ..errors import InputError
from ..validation import non_negative_float, positive_int
from .base import Callback


class MonitorCallback(Callback):
    """Base class of the callbacks that act when ``logs[monitor]`` stops improving.

    Parameters
    ----------
    monitor : str
        The logged figure, e.g. ``"val_loss"`` or ``"loss"``.
    mode : {"auto", "min", "max"}
        Whether lower or higher is better; ``"auto"`` means higher for names
        holding ``"acc"`` or ``"score"``, lower otherwise.
    min_delta : float
        The least change that counts as an improvement.
    patience : int
        How many epochs without improvement to wait before acting.
    """

    def __init__(self, monitor, mode, min_delta, patience):
        if not isinstance(monitor, str) or not monitor:
            raise InputError(f"monitor must be the name of a logged figure, got {monitor!r}")
        if mode not in ("auto", "min", "max"):
            raise InputError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
        if mode == "auto":
            mode = "max" if ("acc" in monitor or "score" in monitor) else "min"
        self.monitor = monitor
        self.mode = mode
        self.min_delta = non_negative_float(min_delta, "min_delta")
        self.patience = positive_int(patience, "patience", allow_zero=True)
        self.reset()

    def reset(self):
        """Forget what was seen: no best value yet, no epochs waited."""
        self.best = math.inf if self.mode == "min" else -math.inf
        self.wait = 0

    _resumed = False

    def on_train_begin(self, logs=None):
        if self.monitor == "val_loss" and self.params is not None \
                and not self.params.get("validation"):
            raise InputError(f"{type(self).__name__} monitors 'val_loss' but fit has no "
                             "validation_data: pass validation_data, or monitor='loss'")
        if not self._resumed:
            self.reset()
        self._resumed = False

    #: The attributes a checkpoint keeps (``best`` is stored as None while infinite).
    _state = ("best", "wait")

    def get_state(self):
        values = {key: getattr(self, key) for key in self._state}
        values["best"] = self.best if math.isfinite(self.best) else None
        return values, []

    def set_state(self, values, arrays):
        self.reset()
        for key in self._state:
            if key in values:
                setattr(self, key, values[key])
        if self.best is None:
            self.best = math.inf if self.mode == "min" else -math.inf
        self._resumed = True

    def improved(self, value, reference):
        """Whether ``value`` beats ``reference`` by more than ``min_delta``."""
        if self.mode == "min":
            return value < reference - self.min_delta
        return value > reference + self.min_delta

    def current(self, logs):
        """``logs[monitor]`` as a float; a clear error when it was not logged."""
        if not logs or self.monitor not in logs:
            logged = sorted(logs or ())
            raise InputError(f"{type(self).__name__} monitors {self.monitor!r}, which is not "
                             f"logged; the logs hold {logged}")
        return float(logs[self.monitor])
