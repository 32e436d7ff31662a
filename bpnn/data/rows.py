"""Row sources: training rows on the host, gathered by index without loading the whole
data, from arrays, NumPy memory maps and ``.npy`` files or folders of them.

Host input, so it uses NumPy as the host's array library; every backend trains from
it, and the rows reach a device only through the backend's ``asarray``.

Files are read with ``os.pread`` at each row's offset rather than through a
memory map: the pages read go to the operating system's cache, not into the
process, so training from a file of any size keeps the process small.  A NumPy
``memmap`` passed in is read the same way, from its file.
"""

from __future__ import annotations

import math
import mmap
import os
import pathlib

import numpy as np

from ..errors import InputError
from ..validation import open_regular

#: The dtypes a row source may hold.
_NUMERIC_KINDS = "biuf"


class RowSource:
    """Rows of a 2-D numeric table, read by index on the host.

    Attributes
    ----------
    shape : tuple of int
        ``(n_rows, n_columns)``; a 1-D source counts as one column.
    dtype_name : str
    where : str
        How messages call it (a file name, "the memory map", "the array").
    """

    shape = (0, 0)
    dtype_name = "float64"
    where = "the data"

    def take(self, indices):
        """The rows ``indices`` (a host integer array) as a 2-D host array."""
        raise NotImplementedError

    def close(self):
        """Release open files."""


class ArrayRows(RowSource):
    """An in-memory NumPy array."""

    def __init__(self, array, where="the array"):
        array = np.asarray(array)
        self.array = array.reshape(-1, 1) if array.ndim == 1 else array
        self.shape = self.array.shape
        self.dtype_name = str(self.array.dtype)
        self.where = where

    def take(self, indices):
        return self.array[indices]


class FileRows(RowSource):
    """A C-ordered 2-D (or 1-D) array stored at ``offset`` in a file, read row by row."""

    _fd = None

    def __init__(self, path, offset, shape, dtype, where=None, descriptor=None):
        self.path = os.fspath(path)
        self.offset = int(offset)
        self.dtype = np.dtype(dtype)
        self.shape = (shape[0], 1) if len(shape) == 1 else tuple(int(n) for n in shape)
        self.dtype_name = str(self.dtype)
        self.row_bytes = self.shape[1] * self.dtype.itemsize
        self.where = where or os.path.basename(self.path)
        # ``descriptor``: the file already opened and checked by the caller (now owned here)
        self._fd = descriptor if descriptor is not None else open_regular(self.path)[0]

    def take(self, indices):
        out = np.empty((len(indices), self.shape[1]), dtype=self.dtype)
        view = memoryview(out.reshape(-1).view(np.uint8))
        size = self.row_bytes
        for position, row in enumerate(np.asarray(indices, dtype=np.int64).tolist()):
            # each row lands in its place in ``out``: no intermediate bytes object
            target = view[position * size:(position + 1) * size]
            if _read_into(self._fd, target, self.offset + row * size) != size:
                raise InputError(f"{self.where}: the file ended before row {row}")
        return out

    def close(self):
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __del__(self):
        self.close()


def _read_into(fd, target, offset):
    """Read ``len(target)`` bytes at ``offset`` into ``target``; the count read."""
    if _preadv is not None:
        return _preadv(fd, [target], offset)
    chunk = os.pread(fd, len(target), offset)
    target[:len(chunk)] = chunk
    return len(chunk)


_preadv = getattr(os, "preadv", None)  # Linux and the BSDs; elsewhere pread and a copy


class ShardRows(RowSource):
    """Several row sources one after the other (a folder of ``.npy`` shards)."""

    def __init__(self, parts, where):
        widths = {part.shape[1] for part in parts}
        dtypes = {part.dtype_name for part in parts}
        if len(widths) != 1 or len(dtypes) != 1:
            raise InputError(f"{where}: the shards differ in columns {sorted(widths)} or dtype "
                             f"{sorted(dtypes)}")
        self.parts = parts
        self.starts = np.cumsum([0] + [part.shape[0] for part in parts])
        self.shape = (int(self.starts[-1]), widths.pop())
        self.dtype_name = dtypes.pop()
        self.where = where

    def take(self, indices):
        indices = np.asarray(indices, dtype=np.int64)
        out = np.empty((len(indices), self.shape[1]), dtype=self.dtype_name)
        owner = np.searchsorted(self.starts, indices, side="right") - 1
        for number in np.unique(owner).tolist():
            mask = owner == number
            out[mask] = self.parts[number].take(indices[mask] - self.starts[number])
        return out

    def close(self):
        for part in self.parts:
            part.close()


#: The largest ``.npy`` header read (NumPy's own default cap).
_MAX_NPY_HEADER = 10_000


def npy_rows(path):
    """A :class:`FileRows` over a ``.npy`` file, from its header (no memory map).

    Only the header is read here, and the size it declares is checked, with
    exact integers, against the file's real size: a header declaring more
    than the file holds is refused before anything is allocated.
    """
    path = os.fspath(path)
    descriptor, size = open_regular(path, "a .npy file")
    try:
        offset, shape, dtype = _npy_header(path, descriptor)
        if math.prod(shape) * dtype.itemsize > size - offset:  # Python ints: no wrap-around
            raise InputError(f"{path}: the file is shorter than its header says (shape {shape} "
                             f"of {dtype} needs {math.prod(shape) * dtype.itemsize} bytes after "
                             f"the header; the file has {size - offset})")
        return FileRows(path, offset, shape, dtype, descriptor=descriptor)
    except BaseException:
        os.close(descriptor)
        raise


def _npy_header(path, descriptor):
    """``(offset, shape, dtype)`` from the header of the ``.npy`` file open at ``descriptor``."""
    with os.fdopen(descriptor, "rb", closefd=False) as file:
        try:
            version = np.lib.format.read_magic(file)
            reader = {(1, 0): np.lib.format.read_array_header_1_0,
                      (2, 0): np.lib.format.read_array_header_2_0}.get(version)
            if reader is None:
                raise InputError(f"unsupported .npy version {version}")
            shape, fortran, dtype = reader(file, max_header_size=_MAX_NPY_HEADER)
        except (ValueError, EOFError, SyntaxError) as error:
            raise InputError(f"{path}: not a readable .npy file ({error})") from None
        offset = file.tell()
    if fortran or dtype.hasobject or dtype.kind not in _NUMERIC_KINDS or len(shape) not in (1, 2):
        raise InputError(f"{path}: expected a C-ordered 1-D or 2-D array of numbers, got "
                         f"shape {shape}, dtype {dtype}{', Fortran order' if fortran else ''}")
    return offset, tuple(int(n) for n in shape), dtype


def open_rows(data):
    """A :class:`RowSource` for a path (``.npy`` file or folder of them), a NumPy memory
    map or a row source itself, or ``None`` when ``data`` is none of those (an ordinary
    array)."""
    if isinstance(data, RowSource):
        return data
    if isinstance(data, (str, os.PathLike)):
        path = pathlib.Path(data)
        if path.is_dir():
            shards = sorted(path.glob("*.npy"))
            if not shards:
                raise InputError(f"{path}: the folder holds no .npy shards")
            return ShardRows([npy_rows(shard) for shard in shards], where=str(path))
        if path.suffix != ".npy":
            os.close(open_regular(path, "a .npy file")[0])  # a clear error for what it is
            raise InputError(f"{path}: fit reads .npy files and folders of them (for CSV and "
                             "others, use the bpnn train command or load the data first)")
        return npy_rows(path)
    if isinstance(data, np.memmap) and isinstance(data.base, mmap.mmap) and data.filename \
            and data.ndim in (1, 2) and data.flags.c_contiguous \
            and data.dtype.kind in _NUMERIC_KINDS:  # a whole map (a view is read in memory)
        return FileRows(data.filename, data.offset, data.shape, data.dtype,
                        where=os.path.basename(data.filename))
    return None


def first_non_finite(block):
    """``(row, column)`` of the first NaN or infinity in a host block, or ``None``."""
    if block.dtype.kind != "f":
        return None
    bad = ~np.isfinite(block)
    if not bad.any():
        return None
    row, column = np.argwhere(bad)[0]
    return int(row), int(column)
