"""Every file bpnn writes (models, checkpoints, predictions, logs, plots) goes through here.

Conventions:

* The destination is checked first (:func:`~bpnn.validation.writable_path`): it
  must be a regular file or not exist.  A folder, device (``/dev/null``), FIFO
  or socket is refused, never replaced.
* A symbolic link to a regular file is written through: the file it points to
  is replaced and the link is kept (as editors do), so a link into a shared
  folder stays a link.
* The bytes go to a temporary file with a unique name (``mkstemp``) in the
  destination's folder, which is flushed, ``fsync``-ed and renamed over the
  destination with ``os.replace``, then the folder is synced: a crash leaves
  the old file or the new one, never a mix, and two processes writing the same
  path each write their own temporary file (the last rename wins; both files
  are whole).
* A new file gets the mode the umask gives (``0o666 & ~umask``, as ``open``
  would); a replaced file keeps its mode.
* Any ``OSError`` while writing (a full disk, an I/O error) is a
  :class:`~bpnn.validation.WriteError` naming the file; the old file is left
  as it was and the temporary file is removed.
* A writer holds an exclusive ``flock`` on its temporary file until it is
  renamed; temporary files that nobody holds are leftovers of killed writers
  and the next write to the same path removes them.  Without ``fcntl``
  (Windows) leftovers are kept: a live one cannot be told from a dead one.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile

from .validation import WriteError, writable_path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

#: Temporary files are named ``.bpnn-tmp-<destination name>.<random>``.
TEMP_PREFIX = ".bpnn-tmp-"
# Opening a leftover: never follow a link, never wait on a FIFO.
_PROBE_FLAGS = (os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
                | getattr(os, "O_CLOEXEC", 0))


def write_atomic(path, data, what="the file"):
    """Write the bytes ``data`` to ``path`` atomically (see the module's conventions).

    Parameters
    ----------
    path : str or path-like
    data : bytes-like
    what : str
        What the file is, for error messages (``"the model"``).

    Raises
    ------
    WriteError
        The destination cannot be written, or writing failed; the old file is intact.
    """
    with open_atomic(path, what) as file:
        file.write(data)


@contextlib.contextmanager
def open_atomic(path, what="the file", text=False, inputs=()):
    """A file object whose contents replace ``path`` when the block ends without error.

    Parameters
    ----------
    path : str or path-like
    what : str
        What the file is, for error messages.
    text : bool
        A UTF-8 text file (newlines untranslated, as the ``csv`` module wants)
        instead of a binary one.
    inputs : iterable of str or path-like
        Files the caller reads: writing over one is refused.

    Yields
    ------
    file object

    Raises
    ------
    WriteError
        The destination cannot be written, or an ``OSError`` happened while
        writing; the old file is intact and the temporary file removed.
    """
    path = writable_path(path, what, inputs)
    target = os.path.realpath(path)  # a symbolic link is written through
    folder, base = os.path.split(target)
    try:
        descriptor, temp = _temporary(folder, base)
    except OSError as error:
        raise _write_error(what, path, error) from None
    try:
        with write_errors(what, path):
            with os.fdopen(descriptor, "w" if text else "wb", closefd=False,
                           **({"encoding": "utf-8", "newline": ""} if text else {})) as file:
                yield file
                file.flush()
                if hasattr(os, "fchmod"):  # POSIX; Windows has no modes to keep
                    os.fchmod(descriptor, _mode_for(target))
                os.fsync(descriptor)
            os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    finally:
        os.close(descriptor)  # releases the lock, after the rename
    _sync_folder(folder)
    _remove_leftovers(folder, base)


@contextlib.contextmanager
def write_errors(what, path):
    """Turn an ``OSError`` of the block (writing ``what`` to ``path``) into a
    :class:`~bpnn.validation.WriteError` naming ``path``; for writers that
    append in place (the CSV log) and for :func:`open_atomic` itself."""
    try:
        yield
    except WriteError:
        raise
    except OSError as error:
        raise _write_error(what, path, error) from error


def _write_error(what, path, error):
    failure = WriteError(f"cannot write {what} {path!r}: {error.strerror or error}")
    failure.errno, failure.filename = error.errno, path
    return failure


def _temporary(folder, base):
    """``(descriptor, name)`` of a new temporary file for ``base`` in ``folder``, locked.

    A cleaner may remove the file between its creation and the lock; then it
    has no name left (``st_nlink == 0``) and another one is made.
    """
    while True:
        descriptor, temp = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{base}.", dir=folder)
        if fcntl is None:
            return descriptor, temp
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        if os.fstat(descriptor).st_nlink > 0:
            return descriptor, temp
        os.close(descriptor)


def _mode_for(target):
    """The permission bits of the file at ``target`` if there is one, else those of
    a new file under the current umask."""
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        return 0o666 & ~_umask()


def _umask():
    """The process's umask: from ``/proc/self/status`` where Linux gives it, else by
    setting it and setting it back (Python has no getter; another thread could
    see the passing value)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _sync_folder(folder):
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:  # Windows cannot open folders; its rename is durable enough
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _remove_leftovers(folder, base):
    """Remove the temporary files for ``base`` that no live writer holds locked."""
    if fcntl is None:
        return
    prefix = f"{TEMP_PREFIX}{base}."
    try:
        names = [name for name in os.listdir(folder) if name.startswith(prefix)]
    except OSError:
        return
    for name in names:
        leftover = os.path.join(folder, name)
        try:
            descriptor = os.open(leftover, _PROBE_FLAGS)
        except OSError:
            continue
        try:
            if stat.S_ISREG(os.fstat(descriptor).st_mode):
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a live writer: raises
                os.unlink(leftover)
        except OSError:
            pass
        finally:
            os.close(descriptor)
