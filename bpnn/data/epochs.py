"""What one epoch trains on: a factory of device batches, for arrays and streams alike.

Every provider draws the epoch's order from the network's seeded host stream
in the same way, so the same data as an array, a ``.npy`` file or a memory
map gives the same run.

Convention: a provider builds the network and moves data to the device with
the backend's device current (:meth:`~bpnn.backends.Backend.scope`); its
``epoch`` batches are made inside the scope :func:`bpnn.training.fit` holds.
"""

from __future__ import annotations

from ..errors import InputError
from ..update import writable
from ..validation import weight_column
from .rows import open_rows
from .stream import IteratorStream, RowStream, is_batch_iterator


def batch_bounds(n, batch_size):
    """``(start, stop)`` of every batch; stops stay in bounds (the standard leaves
    out-of-range slices undefined)."""
    step = n if batch_size is None else min(batch_size, n)
    return [(start, min(start + step, n)) for start in range(0, n, step)]


#: Data up to this size is gathered in epoch order once per epoch; larger data is
#: gathered batch by batch, so no copy of the whole data is made (and freed) each
#: epoch: a large short-lived allocation costs page faults on every epoch.
GATHER_EPOCH_BYTES = 8 * 2 ** 20


def epoch_bounds(n, batch_size, distributed=None):
    """``(bounds, global_sizes)``: the batches of an epoch; distributed, this rank's piece
    of each global batch of ``P * batch_size`` rows and those batches' sizes (else
    ``None``)."""
    if distributed is None:
        return batch_bounds(n, batch_size), None
    step = None if batch_size is None else batch_size * distributed.size
    bounds = batch_bounds(n, step)
    return ([distributed.shard(start, stop) for start, stop in bounds],
            [stop - start for start, stop in bounds])


def checked_data(network, X, T):
    """``network._data(X, T)``: the network built on ``X``'s backend if it is not yet, and
    ``(X, T)`` validated on it with its device current (see :meth:`Backend.scope`)."""
    network.build(like=X)
    with network.backend.scope():
        return network._data(X, T)


def with_global_sizes(make, global_sizes):
    """The batch factory ``make`` as it is, or, distributed, with each piece's batch
    ``(X, T)`` given as ``(X, T, None, N)``: ``N`` rows in the global batch."""
    if global_sizes is None:
        return make
    return lambda: ((X, T, None, size) for (X, T), size in zip(make(), global_sizes))


class ArrayEpochs:
    """Data already on the device: each epoch permutes it and slices batches.

    With sample weights ``w`` (an (n, 1) column) batches are ``(X, T, w)``.
    """

    def __init__(self, network, X, T, batch_size, w=None, distributed=None):
        self.network = network
        self.arrays = (X, T) if w is None else (X, T, w)
        self.weighted = w is not None
        self.n_samples = X.shape[0]
        self.bounds, self.global_sizes = epoch_bounds(self.n_samples, batch_size, distributed)

    def epoch(self, shuffle):
        return with_global_sizes(self._slices(shuffle), self.global_sizes)

    def _slices(self, shuffle):
        arrays, xp = self.arrays, self.network.backend.xp
        bounds = self.bounds
        if shuffle:
            order = self.network.rng.permutation(self.n_samples)
            itemsize = xp.finfo(arrays[0].dtype).bits // 8
            columns = sum(A.shape[1] for A in arrays)
            if columns * self.n_samples * itemsize > GATHER_EPOCH_BYTES:
                return lambda: (tuple(xp.take(A, order[start:stop], axis=0) for A in arrays)
                                for start, stop in bounds)
            arrays = tuple(xp.take(A, order, axis=0) for A in arrays)
        if len(arrays) == 2:  # spelled out: a generator per batch costs the seed's loop 1.5%
            X, T = arrays
            return lambda: ((X[start:stop, ...], T[start:stop, ...]) for start, stop in bounds)
        X, T, w = arrays
        return lambda: ((X[start:stop, ...], T[start:stop, ...], w[start:stop, ...])
                        for start, stop in bounds)

    def close(self):
        pass


class StreamEpochs:
    """Rows read from files or memory maps on the host, batch by batch.

    Rows are checked for NaN and infinity on the host (with their row number
    in the whole data) and sent with the backend's ``upload``, which on CuPy
    overlaps the copy with the computation.
    """

    weighted = False

    def __init__(self, network, stream, batch_size, distributed=None):
        self.network, self.stream, self.batch_size = network, stream, batch_size
        self.distributed = distributed
        self.n_samples = stream.n_samples
        # distributed, each rank reads only its piece of each global batch
        self.bounds, self.global_sizes = epoch_bounds(self.n_samples, batch_size, distributed)
        checked_data(network, *stream.first_rows(2))  # build the network; check widths, dtype

    def to_device(self, Xb, Tb):
        backend, dtype = self.network.backend, self.network.dtype
        return backend.upload(Xb, dtype), backend.upload(Tb, dtype)

    def epoch(self, shuffle):
        rng = self.network.rng
        order = rng.host_permutation(self.n_samples) if shuffle else range(self.n_samples)
        return with_global_sizes(self.stream.batches(order, self.bounds, self.to_device),
                                 self.global_sizes)

    def nbytes(self):
        """The bytes X and T take on the device in the model's dtype."""
        itemsize = 4 if self.network.dtype_name == "float32" else 8
        columns = self.stream.X.shape[1] + self.stream.T.shape[1]
        return self.n_samples * columns * itemsize

    def preloaded(self, chunk=65536):
        """The whole data moved to the device once, read in chunks of rows (the host
        never holds more than a chunk), as :class:`ArrayEpochs`."""
        network = self.network
        xp, backend, dtype = network.backend.xp, network.backend, network.dtype
        n = self.n_samples
        with backend.scope():  # CuPy's empty ignores device=: it allocates on the current one
            if writable(xp):  # one buffer each, filled chunk by chunk
                X = xp.empty((n, self.stream.X.shape[1]), dtype=dtype, device=backend.device)
                T = xp.empty((n, self.stream.T.shape[1]), dtype=dtype, device=backend.device)
            else:  # immutable arrays: the chunks, joined at the end
                X, T = [], []
            for start in range(0, n, chunk):
                stop = min(start + chunk, n)
                Xb, Tb = self.stream.host_batch(range(start, stop))
                Xb, Tb = backend.upload(Xb, dtype), backend.upload(Tb, dtype)
                if isinstance(X, list):
                    X.append(Xb)
                    T.append(Tb)
                else:
                    X[start:stop, ...] = Xb
                    T[start:stop, ...] = Tb
            if isinstance(X, list):
                X, T = xp.concat(X, axis=0), xp.concat(T, axis=0)
        return ArrayEpochs(network, X, T, self.batch_size, distributed=self.distributed)

    def close(self):
        self.stream.close()


class IteratorEpochs:
    """Batches from a user iterator; the order is the iterator's."""

    bounds = None
    n_samples = None
    weighted = False

    def __init__(self, network, stream):
        self.network, self.stream = network, stream
        checked_data(network, *stream.first())  # build the network; check widths and dtype

    def epoch(self, shuffle):
        return self.stream.batches(self.network._data)

    def close(self):
        pass


def epochs_for(network, X, T, batch_size, memory_budget=None, sample_weight=None,
               distributed=None):
    """The provider for ``fit(X, T)``: arrays, files and memory maps, or batch iterators.

    Files and memory maps are streamed from the host; on a GPU, when they take
    at most ``memory_budget`` bytes there (default: half the free device
    memory), they are moved to the device once instead.  ``sample_weight``
    goes with arrays only; ``distributed`` (:mod:`bpnn.distributed`) with
    arrays and files (each rank then reads only its rows), not with batch
    iterators or sample weights.
    """
    arrays_only = ValueError(
        "sample_weight goes with arrays only, not with files, memory maps or batch iterators")
    if distributed is not None and sample_weight is not None:
        raise InputError("distributed=True takes no sample_weight yet")
    if is_batch_iterator(X):
        if T is not None:
            raise InputError("with a batch iterator as X, T must be None (the iterator yields "
                             "(X, T) pairs)")
        if sample_weight is not None:
            raise arrays_only
        if distributed is not None:
            raise InputError("distributed=True cannot shard a batch iterator: give arrays, "
                             "files or memory maps")
        return IteratorEpochs(network, IteratorStream(X))
    rows = open_rows(X)  # None for an ordinary array of any library
    if rows is None:
        X, T = checked_data(network, X, T)
        w = None
        if sample_weight is not None:
            with network.backend.scope():
                w = weight_column(network.backend, sample_weight, network.dtype, X.shape[0])
        return ArrayEpochs(network, X, T, batch_size, w, distributed)
    if sample_weight is not None:
        rows.close()
        raise arrays_only
    data = StreamEpochs(network, RowStream(rows, T), batch_size, distributed)
    free = network.backend.free_memory()
    if free is not None:
        budget = free // 2 if memory_budget is None else memory_budget
        if data.nbytes() <= budget:
            preloaded = data.preloaded()
            data.close()
            return preloaded
    return data
