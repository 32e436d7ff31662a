"""The callback protocol of :meth:`Network.fit`, and the history it records."""

from __future__ import annotations


class Callback:
    """Base class: hooks called by the training loop.

    ``fit`` sets :attr:`model` before training.  A callback stops training by
    setting ``self.model.stop_training = True``; the loop ends after the
    current epoch.
    """

    model = None

    def set_model(self, model):
        """Called by ``fit`` with the network being trained."""
        self.model = model

    def on_train_begin(self, logs=None):
        """Before the first epoch."""

    def on_epoch_end(self, epoch, logs=None):
        """After each epoch; ``logs`` holds ``"loss"`` (and ``"val_loss"`` with validation data)."""

    def on_train_end(self, logs=None):
        """After the last epoch."""


class LambdaCallback(Callback):
    """A callback made of plain functions, e.g. ``LambdaCallback(on_epoch_end=print)``."""

    def __init__(self, on_train_begin=None, on_epoch_end=None, on_train_end=None):
        if on_train_begin is not None:
            self.on_train_begin = on_train_begin
        if on_epoch_end is not None:
            self.on_epoch_end = on_epoch_end
        if on_train_end is not None:
            self.on_train_end = on_train_end


class History(Callback):
    """The per-epoch record of a ``fit``: ``history["loss"]``, ``epoch``.

    Attributes
    ----------
    epoch : list of int
        The epochs run (0-based).
    history : dict of str to list of float
        ``"loss"``: the mean training loss over each epoch's steps (as the
        seed measures it: each sample's error before its own update);
        ``"val_loss"``: the loss on the validation data after the epoch.
    """

    def __init__(self):
        self.epoch = []
        self.history = {}

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)

    def __getitem__(self, key):
        return self.history[key]

    def __repr__(self):
        return f"History(epochs={len(self.epoch)}, keys={sorted(self.history)})"
