"""Checks on user data at the boundary of a public call, with errors that name the problem."""

from __future__ import annotations

import errno
import math
import operator
import os
import stat

from .errors import InputError


def _first_non_finite(xp, backend, A):
    """``(row, column)`` of the first NaN or infinity in 2-D ``A``."""
    bad = backend.to_numpy(xp.logical_not(xp.isfinite(A)))
    rows, cols = bad.nonzero()
    return int(rows[0]), int(cols[0])


def as_matrix(backend, A, dtype, *, name, n_rows=None, n_columns=None, allow_vector=False,
              columns_hint=None):
    """Return ``A`` as a finite 2-D array of ``dtype`` on ``backend``.

    Parameters
    ----------
    backend : Backend
    A : array_like
        Host data or an array of ``backend``.
    dtype : dtype
        The model's dtype; ``A`` is cast to it (a model never mixes dtypes).
    name : str
        How the error messages call ``A`` (``"X"``, ``"T"``).
    n_rows, n_columns : int, optional
        Required shape.
    allow_vector : bool
        Read a 1-D ``A`` as one column.
    columns_hint : str, optional
        Added to the message when the number of columns is wrong.

    Raises
    ------
    InputError
        (a ``ValueError``): non-numeric data, wrong number of dimensions, no
        rows, a shape that does not match, NaN or infinity (with its row and
        column).
    """
    xp = backend.xp
    try:
        A = backend.asarray(A)
    except ValueError as error:
        raise InputError(f"{name}: {error}") from None
    if A.ndim == 1 and allow_vector:
        A = xp.reshape(A, (-1, 1))
    if A.ndim != 2:
        hint = " (reshape one feature with .reshape(-1, 1))" if A.ndim == 1 else ""
        raise InputError(f"{name} must be 2-D (n_samples, n_columns); got shape "
                         f"{tuple(A.shape)}{hint}")
    if A.shape[0] == 0:
        raise InputError(f"{name} is empty: it has 0 samples")
    if n_rows is not None and A.shape[0] != n_rows:
        raise InputError(f"{name} has {A.shape[0]} samples but X has {n_rows}")
    if n_columns is not None and A.shape[1] != n_columns:
        hint = f": {columns_hint}" if columns_hint else ""
        raise InputError(f"{name} has {A.shape[1]} columns but the network expects "
                         f"{n_columns}{hint}")
    if not bool(xp.all(xp.isfinite(A))):
        row, column = _first_non_finite(xp, backend, A)
        raise InputError(f"{name} contains NaN or infinity (first at row {row}, column {column})")
    if A.dtype != dtype:
        with backend.errstate():  # values beyond the model's float range become inf: checked next
            A = xp.astype(A, dtype)
        if not bool(xp.all(xp.isfinite(A))):
            row, column = _first_non_finite(xp, backend, A)
            raise InputError(f"{name} has values beyond the range of the model's dtype "
                             f"{backend.dtype_name(dtype)} (first at row {row}, column {column})")
    return A


def weight_column(backend, w, dtype, n_rows, *, name="sample_weight"):
    """Sample weights ``w`` (n_rows,) as an (n_rows, 1) column of ``dtype`` on ``backend``.

    Raises
    ------
    InputError
        (a ``ValueError``): a shape other than (n_rows,), NaN, infinity, a
        negative weight, or weights that are all zero.
    """
    xp = backend.xp
    try:
        w = backend.asarray(w)
    except ValueError as error:
        raise InputError(f"{name}: {error}") from None
    if w.ndim == 2 and w.shape[1] == 1:
        w = xp.reshape(w, (-1,))
    if w.ndim != 1 or w.shape[0] != n_rows:
        raise InputError(f"{name} must have shape ({n_rows},), one weight per sample; got "
                         f"shape {tuple(w.shape)}")
    w = as_matrix(backend, w, dtype, name=name, allow_vector=True)
    if bool(xp.any(w < 0)):
        raise InputError(f"{name} has negative weights; weights must be >= 0")
    if not bool(xp.any(w > 0)):
        raise InputError(f"{name} is all zeros: at least one sample must have a positive weight")
    return w


class WriteError(InputError, OSError):
    """A file that bpnn will not or cannot write: the destination is not a regular
    file, is one of the command's inputs, its folder is missing or read-only, or
    the write failed (a full disk...).  The message names the file; ``errno`` is
    the operating system's code where there is one.  It is an
    :class:`~bpnn.errors.InputError` (so a ``ValueError``: a problem the user can
    act on) and an ``OSError`` (what a failed write is)."""

    def __str__(self):  # the message alone, not OSError's "[Errno n] ..." form
        return str(self.args[0]) if self.args else ""


def writable_path(path, what, inputs=()):
    """``path`` as a string, once it is known that ``what`` can be written there.

    Called before any work is done that a bad destination would waste (every
    command checks its outputs before it trains or predicts), and again by the
    writer itself.

    Parameters
    ----------
    path : str or path-like
    what : str
        What the file is, for the message (``"the model"``).
    inputs : iterable of str or path-like or None
        Files the command reads; writing over one of them is refused.

    Returns
    -------
    str

    Raises
    ------
    WriteError
        ``path`` exists and is not a regular file (a folder, device, FIFO,
        socket; a symbolic link is judged by what it points to), is one of
        ``inputs``, or its folder is missing, not a folder or not writable.
    """
    path = os.fspath(path)
    try:
        kind = _not_regular(os.stat(path).st_mode)
    except FileNotFoundError:
        kind = None
    except OSError as failure:
        reason = _REASONS.get(failure.errno, failure.strerror or str(failure))
        raise WriteError(f"cannot write {what} {path!r}: {reason}") from None
    if kind is not None:
        raise WriteError(f"cannot write {what} {path!r}: it is {kind}, not a regular file "
                         "(bpnn replaces only regular files)")
    for source in inputs:
        if source is not None and same_file(path, source):
            raise WriteError(f"cannot write {what} {path!r}: it is the input "
                             f"{os.fspath(source)!r}; choose another file")
    folder = os.path.dirname(os.path.realpath(path))
    if not os.path.isdir(folder):
        raise WriteError(f"cannot write {what} {path!r}: the folder {folder!r} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise WriteError(f"cannot write {what} {path!r}: the folder {folder!r} is not "
                         "writable (permission denied)")
    return path


def same_file(a, b):
    """Whether paths ``a`` and ``b`` name one file: by device and inode when both exist
    (hard links, symbolic links, ``./x`` and ``x``), else by their resolved paths."""
    a, b = os.fspath(a), os.fspath(b)
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.normcase(os.path.realpath(a)) == os.path.normcase(os.path.realpath(b))


#: What a path is, by its ``stat`` file type, for the messages of :func:`open_regular`.
_FILE_TYPES = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
               (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
               (stat.S_ISBLK, "a block device"))
#: Why a path cannot be read, by ``errno``, for the same messages.
_REASONS = {errno.ENOENT: "no such file", errno.ENOTDIR: "no such file (a part of the path "
            "is not a folder)", errno.EACCES: "permission denied", errno.EPERM:
            "permission denied", errno.ELOOP: "a symbolic link loop", errno.ENAMETOOLONG:
            "the name is too long", errno.ENXIO: "not a regular file (a socket or a device)"}
# Opening a FIFO without O_NONBLOCK waits for a writer: every read opens non-blocking.
_READ_FLAGS = (os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
               | getattr(os, "O_BINARY", 0))


def _not_regular(mode):
    """What a non-regular file is (``"a FIFO (named pipe)"``...), or ``None`` if regular."""
    if stat.S_ISREG(mode):
        return None
    return next((name for test, name in _FILE_TYPES if test(mode)), "not a regular file")


def _refusal(path, what, reason, error):
    return error(f"{path}: {reason}, not {what}" if reason.startswith("a ")
                 else f"{path}: {reason} (expected {what})")


def open_regular(path, what="a data file", error=ValueError):
    """A read-only descriptor on the regular file ``path``, and the file's size in bytes.

    The path is checked before it is opened (a FIFO, socket, device, folder,
    symbolic link loop, missing or unreadable file is refused), opened
    non-blocking (a FIFO swapped in after the check cannot hang the open), and
    the opened descriptor is checked again with ``fstat``; only then is it made
    blocking.  The caller closes the descriptor.

    Parameters
    ----------
    path : str or path-like
    what : str
        What the file should be, for the message (``"a model file"``).
    error : type, default ValueError
        The exception raised (a subclass of ``ValueError``, such as
        :class:`~bpnn.files.ModelFileError`).

    Returns
    -------
    descriptor : int
    size : int

    Raises
    ------
    error
        Naming the path and what it is instead of a readable regular file.
    """
    path = os.fspath(path)
    try:
        kind = _not_regular(os.stat(path).st_mode)
        if kind is None:
            descriptor = os.open(path, _READ_FLAGS)
    except OSError as failure:
        reason = _REASONS.get(failure.errno, failure.strerror or str(failure))
        raise _refusal(path, what, reason, error) from None
    if kind is not None:
        raise _refusal(path, what, kind, error)
    try:
        info = os.fstat(descriptor)
        kind = _not_regular(info.st_mode)
        if kind is not None:
            raise _refusal(path, what, kind, error)
        if _READ_FLAGS & getattr(os, "O_NONBLOCK", 0):
            os.set_blocking(descriptor, True)
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor, info.st_size


def read_exactly(descriptor, size, offset, where, error=ValueError):
    """``size`` bytes of an open file from ``offset`` (one buffer, no copies); ``error``
    names ``where`` when the file ends sooner (it changed since it was checked)."""
    with os.fdopen(descriptor, "rb", closefd=False) as file:  # read(n) loops until n or EOF
        file.seek(offset)
        data = file.read(size)
    if len(data) != size:
        raise error(f"{where}: the file ended at byte {offset + len(data)}, before the "
                    f"{offset + size} it was checked to hold (it changed while read)")
    return data


def dtype_name_of(A):
    """``"float32"``, ``"float64"``... from any array's dtype, or ``None`` for plain data."""
    dtype = getattr(A, "dtype", None)
    return None if dtype is None else str(dtype).rsplit(".", 1)[-1]


def non_negative_float(value, name):
    """``value`` as a finite float >= 0, else a ``ValueError`` naming ``name``."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not (number >= 0.0 and math.isfinite(number)):
        raise InputError(f"{name} must be a finite number >= 0, got {value!r}")
    return number


def positive_int(value, name, allow_none=False, allow_zero=False):
    """``value`` as an int >= 1 (>= 0 with ``allow_zero``; or ``None`` when allowed),
    else a ``ValueError``.

    Any integer type is accepted (``operator.index``), and so is a float with
    an integral value (``3.0``); bools, fractions, NaN and infinity are not.
    """
    if value is None and allow_none:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    try:
        if isinstance(value, bool):
            raise TypeError
        number = operator.index(value)
    except TypeError:
        number = -1
    if number < (0 if allow_zero else 1):
        kind = "a non-negative" if allow_zero else "a positive"
        raise InputError(f"{name} must be {kind} integer, got {value!r}")
    return number
