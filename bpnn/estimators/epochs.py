"""What scikit-learn's MLPs do after each epoch, as callbacks of bpnn's training loop:
the validation score, the progress line and the ``invscaling`` schedule."""

from __future__ import annotations

from ..callbacks import Callback


class ValidationScore(Callback):
    """Log ``val_score`` (accuracy or R²) on the validation set after every epoch."""

    def __init__(self, score):
        self.score = score

    def on_epoch_end(self, epoch, logs=None):
        logs["val_score"] = self.score()


class Progress(Callback):
    """scikit-learn's ``verbose`` lines: ``Iteration 1, loss = 0.69314718`` after each
    epoch (counted from 1 in every fit), and ``Validation score: 0.950000`` with early
    stopping.  Runs after :class:`ValidationScore`, before the stopping rule."""

    def on_epoch_end(self, epoch, logs=None):
        print("Iteration %d, loss = %.8f" % (epoch + 1, logs["loss"]))
        if "val_score" in logs:
            print("Validation score: %f" % logs["val_score"])


class InverseScaling(Callback):
    """scikit-learn's ``invscaling``: after each epoch ``lr = lr0 / (t + 1)^power_t``
    with ``t`` the training samples seen so far (its ``iteration_ends``), so the
    optimizer's rate after a fit is the one the next epoch would use.

    Parameters
    ----------
    lr0, power_t : float
    t0 : int
        Samples seen before this fit.
    n : int
        Samples per epoch.
    """

    def __init__(self, lr0, power_t, t0, n):
        self.lr0, self.power_t, self.t0, self.n = lr0, power_t, t0, n

    def on_epoch_end(self, epoch, logs=None):
        seen = self.t0 + (epoch + 1) * self.n
        self.model.optimizer.lr = self.lr0 / (seen + 1) ** self.power_t
