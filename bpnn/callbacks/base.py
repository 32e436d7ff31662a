"""The callback protocol of :meth:`Network.fit`, and the history it records."""

from __future__ import annotations


class Callback:
    """Base class: hooks called by the training loop.

    ``fit`` calls, in order: :meth:`set_model`, :meth:`set_params`,
    :meth:`on_train_begin`; for every epoch :meth:`on_epoch_begin`,
    :meth:`on_batch_end` after each optimizer step, :meth:`on_epoch_end`;
    then :meth:`on_train_end`.  A callback stops training by setting
    ``self.model.stop_training = True``; the loop ends after the current
    epoch.  The learning rate is ``self.model.optimizer.lr``, which a callback
    may change between epochs.

    Only callbacks that override :meth:`on_batch_end` are called per batch, so
    the others cost nothing inside an epoch.

    Attributes
    ----------
    model : Network
        The network being trained.
    params : dict
        ``epochs``, ``initial_epoch`` (where a resumed run starts), ``steps``
        (batches per epoch), ``samples``, ``batch_size``
        (``None`` for full batch), ``validation`` (whether ``val_loss`` is
        logged) and ``verbose``.
    """

    model = None
    params = None

    def set_model(self, model):
        """Called by ``fit`` with the network being trained."""
        self.model = model

    def set_params(self, params):
        """Called by ``fit`` with the run's settings (see :attr:`params`)."""
        self.params = params

    def on_train_begin(self, logs=None):
        """Before the first epoch."""

    def on_epoch_begin(self, epoch, logs=None):
        """Before each epoch (0-based)."""

    def on_batch_end(self, batch, logs=None):
        """After each optimizer step; ``logs`` holds ``"size"`` (rows in the batch) and
        ``"loss"``, the running mean loss of the epoch so far as a 0-d array on the
        device (convert it with ``float`` only when needed: that waits for the device)."""

    def on_epoch_end(self, epoch, logs=None):
        """After each epoch; ``logs`` holds ``"loss"``, ``"lr"`` and, with validation
        data, ``"val_loss"``; a callback may add entries for those after it."""

    def on_train_end(self, logs=None):
        """After the last epoch (not after an exception)."""

    def get_state(self):
        """``(values, arrays)``: what a checkpoint must keep for an exact resume.

        ``values`` is a JSON-able dict (finite numbers, strings, lists),
        ``arrays`` a list of device arrays.  Stateless callbacks return
        ``({}, [])``.
        """
        return {}, []

    def set_state(self, values, arrays):
        """Take back what :meth:`get_state` returned (called on resume, before
        :meth:`on_train_begin`)."""


def overrides(callback, hook):
    """Whether ``callback`` does something in ``hook`` (a subclass method or a
    function given to :class:`LambdaCallback`)."""
    method = getattr(callback, hook)
    return getattr(method, "__func__", None) is not getattr(Callback, hook)


class LambdaCallback(Callback):
    """A callback made of plain functions, e.g. ``LambdaCallback(on_epoch_end=print)``.

    Each argument takes the arguments of the :class:`Callback` method of the same name.
    """

    def __init__(self, on_train_begin=None, on_epoch_begin=None, on_batch_end=None,
                 on_epoch_end=None, on_train_end=None):
        hooks = {"on_train_begin": on_train_begin, "on_epoch_begin": on_epoch_begin,
                 "on_batch_end": on_batch_end, "on_epoch_end": on_epoch_end,
                 "on_train_end": on_train_end}
        for hook, function in hooks.items():
            if function is not None:
                if not callable(function):
                    raise TypeError(f"{hook} must be callable, got {type(function).__name__}")
                setattr(self, hook, function)


class History(Callback):
    """The per-epoch record of a ``fit``: ``history["loss"]``, ``epoch``.

    Attributes
    ----------
    epoch : list of int
        The epochs run (0-based).
    history : dict of str to list of float
        ``"loss"``: the mean training loss over each epoch's steps (as the
        seed measures it: each sample's error before its own update);
        ``"val_loss"``: the loss on the validation data after the epoch;
        ``"lr"``: the learning rate the epoch ran with; and whatever other
        callbacks logged.
    """

    def __init__(self):
        self.epoch = []
        self.history = {}

    def on_train_begin(self, logs=None):
        """A history records one ``fit``; a second ``fit`` starts a new record."""
        self.epoch = []
        self.history = {}

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)

    def __getitem__(self, key):
        return self.history[key]

    def __contains__(self, key):
        return key in self.history

    def __len__(self):
        return len(self.epoch)

    def __repr__(self):
        return f"History(epochs={len(self.epoch)}, keys={sorted(self.history)})"
