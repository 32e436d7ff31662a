"""Write the epoch logs to a CSV file as training goes."""

from __future__ import annotations

import csv
import os

from .base import Callback


class CSVLogger(Callback):
    """One CSV row per epoch: ``epoch`` and every logged figure.

    The file is opened at the start of training and each row is flushed as
    it is written, so the log survives a crash or an interrupt.

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
        self._file = None
        self._writer = None

    _resumed = False

    def set_state(self, values, arrays):
        """On resume the log goes on where the checkpointed run left it."""
        self._resumed = True

    def on_train_begin(self, logs=None):
        folder = os.path.dirname(os.path.abspath(self.filename))
        if not os.path.isdir(folder):
            raise ValueError(f"CSVLogger: the folder {folder!r} does not exist")
        append = self.append or self._resumed
        if self._resumed and os.path.exists(self.filename):
            self._drop_rows_from(self.params["initial_epoch"])
        self._resumed = False
        resume = append and os.path.exists(self.filename) and os.path.getsize(self.filename)
        self._file = open(self.filename, "a" if append else "w", newline="",  # noqa: SIM115
                          encoding="utf-8")
        self._writer = None
        self._has_header = bool(resume)

    def _drop_rows_from(self, epoch):
        """Remove the rows of epochs a resumed run will train again (written after the
        checkpoint it resumes from)."""
        with open(self.filename, newline="", encoding="utf-8") as file:
            rows = list(csv.reader(file, delimiter=self.separator))
        kept = rows[:1] + [row for row in rows[1:] if row and row[0].isdigit()
                           and int(row[0]) < epoch]
        with open(self.filename, "w", newline="", encoding="utf-8") as file:
            csv.writer(file, delimiter=self.separator).writerows(kept)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self._writer is None:
            keys = [key for key in self._FIRST if key in logs]
            keys += sorted(key for key in logs if key not in self._FIRST)
            self._writer = csv.DictWriter(self._file, fieldnames=["epoch", *keys],
                                          delimiter=self.separator, extrasaction="ignore")
            if not self._has_header:
                self._writer.writeheader()
        self._writer.writerow({"epoch": epoch, **{key: _cell(value) for key, value in logs.items()}})
        self._file.flush()

    def on_train_end(self, logs=None):
        if self._file is not None:
            self._file.close()
            self._file = None


def _cell(value):
    """Floats with all their digits (``repr``), so the CSV round-trips exactly."""
    return repr(value) if isinstance(value, float) else value
