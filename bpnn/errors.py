"""The errors bpnn raises for problems a user can act on.

``bpnn``'s command line turns these (and the other user-facing types:
``DataError``, ``BackendError``, ``DivergenceError``)
into exit code 2 and one sentence; any other exception is a bug in bpnn and
shows as one, with its traceback.
"""

from __future__ import annotations


class InputError(ValueError):
    """A value passed to bpnn that it cannot use: an unknown name, an option out of
    range, a table that does not fit the model.

    A subclass of ``ValueError``, so ``except ValueError`` still catches it.
    """


class ModelFileError(ValueError):
    """A model or checkpoint file that bpnn will not read: not one of its files,
    damaged, from a newer version, or inconsistent.  The message says which.

    Raised by :mod:`bpnn.files` (its container and its field checks alike, which is
    why it lives here) and importable from there.
    """


class MissingDependency(ImportError):
    """An optional package that a feature needs is not installed; the message says what
    to install.  A subclass of ``ImportError``."""


class OutOfMemory(MemoryError):
    """Not enough host or device memory for what was asked; the message says how
    large it was and what to change."""
