"""Write the epoch logs to a CSV file as training goes."""

from __future__ import annotations

import csv
import os

from ..validation import writable_path
from ..writing import open_atomic, write_atomic, write_errors
from .base import Callback


class CSVLogger(Callback):
    """One CSV row per epoch: ``epoch`` and every logged figure.

    Each row is appended (and the file closed) as the epoch ends, so the log
    survives a crash or an interrupt; a resumed run (``fit(resume=...)``)
    drops the rows of the epochs it trains again and goes on.

    Parameters
    ----------
    filename : str or path-like
    separator : str, default ","
    append : bool, default False
        Add to an existing file (its header is kept) instead of replacing it.

    Notes
    -----
    The columns are those of the first epoch's logs, in the order ``epoch``,
    ``loss``, ``val_loss``, ``lr``, then the others alphabetically; a figure
    that a later epoch lacks is left empty.
    """

    _FIRST = ("loss", "val_loss", "lr")

    def __init__(self, filename, separator=",", append=False):
        self.filename = os.fspath(filename)
        self.separator = separator
        self.append = bool(append)
        self._columns = None

    _resumed = False

    def set_state(self, values, arrays):
        """On resume the log goes on where the checkpointed run left it."""
        self._resumed = True

    def _writes(self):
        """Whether this process writes the log: in a distributed fit, rank 0 only."""
        distributed = getattr(self.model, "distributed", None)
        return distributed is None or distributed.writer

    def on_train_begin(self, logs=None):
        writable_path(self.filename, "the CSV log")
        if not self._writes():
            return
        append = self.append or self._resumed
        if self._resumed and os.path.exists(self.filename):
            self._drop_rows_from(self.params["initial_epoch"])
        self._resumed = False
        if append and os.path.exists(self.filename) and os.path.getsize(self.filename):
            with open(self.filename, newline="", encoding="utf-8") as file:
                self._columns = next(csv.reader(file, delimiter=self.separator), None)
        else:
            write_atomic(self.filename, b"", "the CSV log")  # a new, empty log
            self._columns = None

    def _drop_rows_from(self, epoch):
        """Remove the rows of epochs a resumed run will train again (written after the
        checkpoint it resumes from)."""
        with open(self.filename, newline="", encoding="utf-8") as file:
            rows = list(csv.reader(file, delimiter=self.separator))
        kept = rows[:1] + [row for row in rows[1:] if row and row[0].isdigit()
                           and int(row[0]) < epoch]
        with open_atomic(self.filename, "the CSV log", text=True) as file:
            csv.writer(file, delimiter=self.separator).writerows(kept)

    def on_epoch_end(self, epoch, logs=None):
        if not self._writes():
            return
        # The file is opened for each row: no handle outlives an interrupted run.
        logs = logs or {}
        with write_errors("the CSV log", self.filename), \
                open(self.filename, "a", newline="", encoding="utf-8") as file:
            if self._columns is None:
                keys = [key for key in self._FIRST if key in logs]
                keys += sorted(key for key in logs if key not in self._FIRST)
                self._columns = ["epoch", *keys]
                csv.writer(file, delimiter=self.separator).writerow(self._columns)
            writer = csv.DictWriter(file, fieldnames=self._columns, delimiter=self.separator,
                                    extrasaction="ignore")
            writer.writerow({"epoch": epoch, **{key: _cell(value) for key, value in logs.items()}})


def _cell(value):
    """Floats with all their digits (``repr``), so the CSV round-trips exactly."""
    return repr(value) if isinstance(value, float) else value
