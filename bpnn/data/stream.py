"""Training data that is not an in-memory array: files, memory maps, batch iterators.

``fit`` accepts, besides arrays:

* a NumPy memory map, a ``.npy`` file path, or a folder of ``.npy`` shards
  (rows concatenated in file-name order), for ``X`` and for ``T``;
* a function returning an iterator of ``(X, T)`` batches (called once per
  epoch), or such an iterator itself (one epoch only).

Rows are gathered on the host in the order of the epoch's permutation (drawn
from the network's seeded stream exactly as for arrays, so a file and the
same data in memory train identically), checked for NaN and infinity with
their global row number, and moved to the device batch by batch; a
background thread reads the next batch while the device computes.
"""

from __future__ import annotations

import itertools
import queue
import threading

from .rows import ArrayRows, first_non_finite, open_rows
from ..errors import InputError


def is_batch_iterator(X):
    """Whether ``X`` is a function returning batch iterators, or such an iterator."""
    return (callable(X) and not hasattr(X, "shape")) or hasattr(X, "__next__")


class RowStream:
    """``X`` and ``T`` read by row index (files, memory maps, or arrays beside them).

    ``X`` is an open row source (see :func:`~bpnn.data.rows.open_rows`);
    ``T`` a path, memory map, row source or array.
    """

    def __init__(self, X, T):
        self.X = X
        if T is None:
            raise InputError("T is needed with X given as a file or memory map")
        self.T = open_rows(T) or ArrayRows(T, where="T")
        if self.T.shape[0] != self.X.shape[0]:
            raise InputError(f"{self.T.where} has {self.T.shape[0]} rows but {self.X.where} has "
                             f"{self.X.shape[0]}")
        self.n_samples = self.X.shape[0]
        if self.n_samples == 0:
            raise InputError(f"{self.X.where} is empty: it has 0 samples")
        self.dtype_name = self.X.dtype_name

    def host_batch(self, indices):
        """Rows ``indices`` of X and T on the host, checked for NaN and infinity."""
        Xb, Tb = self.X.take(indices), self.T.take(indices)
        for name, block, source in (("X", Xb, self.X), ("T", Tb, self.T)):
            bad = first_non_finite(block)
            if bad is not None:
                raise InputError(f"{name} ({source.where}) contains NaN or infinity (first at "
                                 f"row {int(indices[bad[0]])}, column {bad[1]})")
        return Xb, Tb

    def first_rows(self, count):
        """A small host sample (to build the network and check the shapes)."""
        return self.host_batch(list(range(min(count, self.n_samples))))

    def batches(self, order, bounds, to_device):
        """A factory of the epoch's device batches, read ahead on a background thread."""
        def make():
            return _prefetched((order[start:stop] for start, stop in bounds), self.host_batch,
                               to_device)
        return make

    def close(self):
        self.X.close()
        self.T.close()


class IteratorStream:
    """Batches from a user iterator (or a function returning one per epoch)."""

    def __init__(self, source):
        self.source = source
        self.used = False
        self.n_samples = None
        self._first = None

    def first(self):
        """The first batch (to build the network); a one-shot iterator gets it back."""
        if callable(self.source):
            iterator = iter(self.source())
        else:
            iterator = self.source
        try:
            batch = _pair(next(iterator))
        except StopIteration:
            raise InputError("the batch iterator yielded no batch") from None
        if not callable(self.source):
            self._first = batch
        return batch

    def batches(self, to_device):
        def make():
            if callable(self.source):
                iterator = iter(self.source())
            else:
                if self.used:
                    raise InputError("the batch iterator is used up after one epoch: pass a "
                                     "function that returns a new iterator for each epoch")
                self.used = True
                iterator = itertools.chain([self._first], self.source) \
                    if self._first is not None else iter(self.source)
            return (to_device(*_pair(batch)) for batch in iterator)
        return make

    def close(self):
        pass


def _pair(batch):
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        raise InputError("a batch iterator must yield (X, T) pairs")
    return batch


_DONE = object()


def _prefetched(index_blocks, read, to_device, depth=2):
    """Yield ``to_device(*read(indices))`` for each block, reading ``depth`` blocks ahead
    on a thread (file reads release the GIL: they overlap with the computation)."""
    slots = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def reader():
        try:
            for indices in index_blocks:
                if stop.is_set():
                    return
                slots.put(read(indices))
        except BaseException as error:  # handed to the consumer, raised there
            slots.put(error)
            return
        slots.put(_DONE)

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    try:
        while True:
            item = slots.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield to_device(*item)
    finally:
        stop.set()
        while thread.is_alive():  # unblock a reader waiting on a full queue
            try:
                slots.get_nowait()
            except queue.Empty:
                thread.join(0.01)
