"""What ``fit(verbose=...)`` shows: a tqdm progress bar, or one line per epoch."""

from __future__ import annotations

import sys
import time

from .base import Callback


def _figures(logs):
    """``loss=0.0123, val_loss=0.0150`` from the float entries of ``logs``."""
    return ", ".join(f"{key}={value:.4g}" for key, value in logs.items()
                     if key != "lr" and isinstance(value, float))


class ProgressBar(Callback):
    """A tqdm progress bar over every batch of the run (``fit(verbose=1)``).

    It shows the epoch, the batch within it, the running loss of the epoch,
    the last validation loss, the rate and the time left.  The running loss
    is read from the device only when the bar redraws (about ten times a
    second), so the bar does not slow a GPU run down.

    Parameters
    ----------
    file : file-like, optional
        Where to draw; ``sys.stderr`` by default (tqdm's choice).
    leave : bool, default True
        Keep the finished bar on screen.
    """

    def __init__(self, file=None, leave=True):
        self.file = file
        self.leave = leave
        self.bar = None
        self._last = {}

    def on_train_begin(self, logs=None):
        from tqdm.auto import tqdm

        params = self.params
        self._epochs, self._steps = params["epochs"], params["steps"]
        steps = self._steps  # None for a batch iterator: the bar counts without a total
        self.bar = tqdm(total=None if steps is None else self._epochs * steps, unit="batch",
                        leave=self.leave, file=self.file, dynamic_ncols=True,
                        initial=0 if steps is None else params.get("initial_epoch", 0) * steps)
        self._last = {}

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self.bar.set_description(f"epoch {epoch + 1}/{self._epochs}", refresh=False)

    def on_batch_end(self, batch, logs=None):
        if self.bar.update(1):  # the bar redraws (about 10 times a second): read the loss now
            running = {"loss": float(logs["loss"])}
            if "val_loss" in self._last:
                running["val_loss"] = self._last["val_loss"]
            of = "" if self._steps is None else f"/{self._steps}"
            self.bar.set_postfix_str(f"batch {batch + 1}{of}, {_figures(running)}")

    def on_epoch_end(self, epoch, logs=None):
        self._last = dict(logs or {})
        self.bar.set_postfix_str(_figures(self._last), refresh=False)
        self.bar.refresh()

    def on_train_end(self, logs=None):
        self.close()

    def close(self):
        """Close the bar (also called by ``fit`` when training ends in an error)."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class EpochLogger(Callback):
    """One line per epoch (``fit(verbose=2)``), e.g.
    ``Epoch 3/10 - 0.21 s - loss: 0.01234 - val_loss: 0.0150 - lr: 0.1``.

    Parameters
    ----------
    file : file-like, optional
        ``sys.stdout`` by default.
    """

    def __init__(self, file=None):
        self.file = file

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self._start
        parts = [f"Epoch {epoch + 1}/{self.params['epochs']}", f"{seconds:.2f} s"]
        parts += [f"{key}: {value:.6g}" for key, value in (logs or {}).items()
                  if isinstance(value, (int, float))]
        print(" - ".join(parts), file=self.file or sys.stdout, flush=True)

    def close(self):
        """Nothing to release (``fit`` calls it after the run, as for :class:`ProgressBar`)."""
