"""Synchronous data-parallel training over MPI (mpi4py): ``fit(..., distributed=True)``.

Started as ``mpiexec -n P python train.py``, every rank runs the same
``fit``.  The ranks share one global order: the network's random stream and
weights are broadcast from rank 0 before the first epoch, so every rank draws
the same permutation.  Each global batch of ``P * batch_size`` rows is cut
into ``P`` contiguous pieces and rank ``r`` computes only on piece ``r``.  Its
gradients are those of its piece's loss times ``n_r / N`` (the piece's share
of the global batch, folded into the output delta like the learning rate of
plain SGD), so that one ``Allreduce`` (a sum) of one flat buffer, the
gradients and the loss together, gives on every rank exactly the gradient of
the global batch's mean loss.  Every rank then takes the same optimizer step:
P ranks with batch B train as one process with batch P*B, up to the order of
the floating-point sums.

Only rank 0 writes (checkpoints, CSV logs, progress).  An exception on any
rank aborts the whole job (``MPI_Abort``) with the rank and the message, so
no rank waits forever in a collective call.
"""

from __future__ import annotations

import math
import os
import sys
import time

from .flat import read_flat, write_flat

INSTALL_HINT = "distributed=True needs MPI for Python: pip install \"bpnn[distributed]\""


class Distributed:
    """The ranks of the MPI job (``MPI.COMM_WORLD`` by default).

    Use :meth:`world` for the job's ranks.  Nothing collective happens when it
    is built or asked ``writer`` (rank 0 alone may ask, when it saves); the
    rank's place on its node (:attr:`local_rank`, a collective call) is found
    when a fit, which every rank runs, first places a network.  Its array work
    runs inside the scope of :func:`~bpnn.training.fit` or :func:`~bpnn.lbfgs.lbfgs`
    (the backend's device current): the gradient buffer lands on the model's GPU.

    Parameters
    ----------
    comm : mpi4py communicator, optional
    cuda_aware : bool, optional
        Hand CuPy gradients to MPI on the device; by default when the
        environment variable ``BPNN_MPI_CUDA_AWARE`` is ``1``, else through
        host buffers.

    Raises
    ------
    ImportError
        mpi4py (and an MPI library) is not installed; the message says what to
        install.
    """

    def __init__(self, comm=None, cuda_aware=None):
        try:
            from mpi4py import MPI
        except ImportError as error:
            raise ImportError(f"{INSTALL_HINT} ({error})") from None
        self.MPI = MPI
        self.comm = MPI.COMM_WORLD if comm is None else comm
        self.rank = self.comm.Get_rank()
        self.size = self.comm.Get_size()
        #: Whether MPI takes CuPy device buffers: ``cuda_aware``, else the environment
        #: variable BPNN_MPI_CUDA_AWARE=1 (set it where MPI was built with CUDA)
        self.cuda_aware = (os.environ.get("BPNN_MPI_CUDA_AWARE") == "1" if cuda_aware is None
                           else bool(cuda_aware))
        #: time spent in (and waiting at) the gradient Allreduce, and how many there were
        self.allreduce_seconds, self.allreduce_calls = 0.0, 0
        self._flat = None  # the flat gradient buffer, reused from step to step
        self._local_rank = None

    _world = None

    @classmethod
    def world(cls):
        """The ranks of ``MPI.COMM_WORLD``, built on first use and then shared."""
        if cls._world is None:
            cls._world = cls()
        return cls._world

    @property
    def local_rank(self):
        """The rank's index among the ranks of its node (which GPU it takes); a collective
        call the first time: every rank must ask."""
        if self._local_rank is None:
            node = self.comm.Split_type(self.MPI.COMM_TYPE_SHARED)
            self._local_rank = node.Get_rank()
            node.Free()
        return self._local_rank

    def place(self, network, like):
        """Put an unbuilt ``network`` on this rank's device: on a GPU backend chosen without a
        device (``"cupy"``, ``"auto"``), GPU ``local_rank`` modulo the node's GPUs."""
        if network.built or ":" in str(network.backend_spec or ""):
            return
        from .backends import get_backend

        data = like if hasattr(like, "shape") else None  # a path decides no library
        network.backend_spec = get_backend(network.backend_spec, like=data).for_local_rank(
            self.local_rank)

    @property
    def writer(self):
        """Whether this rank writes files and progress (rank 0)."""
        return self.rank == 0

    def synchronize_start(self, network):
        """Give every rank rank 0's weights and random stream (so the same shuffles)."""
        backend = network.backend
        state = self.comm.bcast(network.rng.state, root=0)
        network.rng.state = state
        for param in network.parameters:
            host = backend.to_numpy(param, copy=True)
            self.comm.Bcast(host, root=0)
            param[...] = backend.asarray(host, dtype=network.dtype)

    def shard(self, start, stop):
        """Rank's piece ``(start, stop)`` of the global batch ``[start, stop)``: ``P``
        contiguous pieces whose sizes differ by at most one."""
        n, size, rank = stop - start, self.size, self.rank
        low = start + (n * rank) // size
        high = start + (n * (rank + 1)) // size
        return low, high

    def loss_and_gradients(self, network, xp, X, T, n_global, l2=0.0, l2_shared=False,
                           scale=1.0):
        """The mean loss and ``scale`` times the gradient over a global batch of ``n_global``
        rows, of which this rank holds ``(X, T)``: its part scaled by its share
        ``n / n_global`` (folded into the delta), then summed over the ranks."""
        share = X.shape[0] / n_global
        if l2_shared:  # shared by the global batch's rows (weights are not distributed)
            l2, l2_shared = l2 / n_global, False
        if share:
            loss, grads = network.loss_and_gradients(xp, X, T, l2, None, l2_shared,
                                                     scale * share)
            loss = loss * share
        else:  # a global batch smaller than the number of ranks: nothing here
            loss, grads = 0.0, [xp.zeros_like(param) for param in network.parameters]
        return self.sum_gradients(network, grads, loss), grads

    def _buffer(self, network, size):
        """The flat buffer of ``size`` entries in the model's dtype, on its device."""
        flat = self._flat
        if flat is None or flat.shape[0] != size or flat.dtype != network.dtype \
                or not network.backend.owns(flat):
            flat = network.backend.xp.empty((size,), dtype=network.dtype,
                                            device=network.backend.device)
            self._flat = flat
        return flat

    def sum_gradients(self, network, grads, loss):
        """Sum ``grads`` and ``loss`` over the ranks in place, with one Allreduce of one flat
        buffer; returns the summed loss (a 0-d array)."""
        xp, backend = network.backend.xp, network.backend
        flat = self._buffer(network, sum(math.prod(grad.shape) for grad in grads) + 1)
        flat[write_flat(xp, grads, flat)] = loss
        backend.synchronize()  # the step's queued kernels are not the Allreduce's time; and
        start = time.perf_counter()  # MPI reads a device buffer outside the library's stream
        if self.cuda_aware and backend.name == "cupy":  # the device buffer itself
            self.comm.Allreduce(self.MPI.IN_PLACE, flat, op=self.MPI.SUM)
            summed = flat
        else:  # through a host buffer (the same memory on the numpy backend)
            host = backend.to_numpy(flat)
            self.comm.Allreduce(self.MPI.IN_PLACE, host, op=self.MPI.SUM)
            summed = backend.asarray(host, dtype=network.dtype)
        self.allreduce_seconds += time.perf_counter() - start
        self.allreduce_calls += 1
        return summed[read_flat(xp, summed, grads)]

    def abort(self, error):
        """End every rank of the job: a raising rank must not leave the others waiting."""
        print(f"bpnn: rank {self.rank} of {self.size} failed: {type(error).__name__}: {error}; "
              "aborting the MPI job", file=sys.stderr, flush=True)
        self.comm.Abort(1)
