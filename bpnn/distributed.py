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

Only rank 0 writes (checkpoints, CSV logs, progress).

Before the first step the ranks agree (:meth:`Distributed.agree`, one
``allgather``): each sends a small record of what must be equal (rows,
columns, dtype, layer shapes, epochs, batch size, optimizer, penalty, a
digest of the data) or the error it met while starting (bad data, a bad
option); any failure or disagreement raises on **every** rank the same
:class:`RanksDisagree`, so none is left waiting.  An exception after that
aborts the whole job (``MPI_Abort``) with the rank and the message, and so
does an uncaught exception anywhere in the script once the ranks of
``COMM_WORLD`` are known (:meth:`Distributed.world`).
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import stat
import sys
import time
import traceback

from .divergence import DivergenceError
from .errors import InputError, MissingDependency, ModelFileError
from .flat import read_flat, write_flat
from .network import run_layers
from .update import assign

#: The longest a failing rank waits for the process manager to read its last words.
ABORT_DRAIN_SECONDS = 5.0
#: Errors whose message says what to change: a failing rank says it without a traceback.
#: The command line's ``USER_ERRORS`` less two this module does not import: ``DataError``
#: is an ``InputError``, and a ``BackendError`` is raised before the ranks agree.
SAID_ERRORS = (InputError, ModelFileError, MissingDependency, DivergenceError)

INSTALL_HINT = "distributed=True needs MPI for Python: pip install \"bpnn[distributed]\""

#: The most bytes of an array the data digest reads whole; larger arrays are sampled
#: by rows (an evenly strided set, the first and the last included)
DIGEST_BYTES = 64 << 20
DIGEST_ROWS = 4096


class RanksDisagree(InputError):
    """The ranks of a distributed fit do not agree on what must be equal, or one of them
    failed while starting; raised on every rank at once.

    Attributes
    ----------
    fields : list of str
        The fields the ranks differ on (empty when a rank failed).
    failed : dict
        ``{rank: "Type: message"}`` of the ranks that failed while starting.
    """

    def __init__(self, message, fields=(), failed=None):
        super().__init__(message)
        self.fields = list(fields)
        self.failed = dict(failed or {})


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
    MissingDependency
        An ``ImportError``: mpi4py (and an MPI library) is not installed; the message says what to
        install.
    """

    def __init__(self, comm=None, cuda_aware=None):
        try:
            from mpi4py import MPI
        except ImportError as error:
            raise MissingDependency(f"{INSTALL_HINT} ({error})") from None
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
        #: ``last_words(error)``, called by :meth:`abort` after its summary, before the
        #: job ends: ``bpnn train`` says there how to resume an interrupted run
        self.last_words = None
        #: how many times the ranks have checked their start together (:meth:`agree`)
        self.agreements = 0
        if self.size > 1 and self.comm is MPI.COMM_WORLD:
            _abort_on_uncaught(self)

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
        local_rank = self.local_rank  # collective: every rank, before anything may raise
        if network.built or ":" in str(network.backend_spec or ""):
            return
        from .backends import get_backend

        data = like if hasattr(like, "shape") else None  # a path decides no library
        network.backend_spec = get_backend(network.backend_spec, like=data).for_local_rank(
            local_rank)

    @property
    def writer(self):
        """Whether this rank writes files and progress (rank 0)."""
        return self.rank == 0

    def starting(self):
        """A context for the start of a fit: see :class:`Start`."""
        return Start(self)

    def agree(self, record=None, error=None):
        """Check with every rank (a collective call) that the start went well everywhere.

        Parameters
        ----------
        record : dict, optional
            What must be equal on every rank (see :func:`start_record`).
        error : BaseException, optional
            The error this rank met while starting (then ``record`` is not needed).

        Raises
        ------
        RanksDisagree
            On every rank, when a rank failed (its message is named) or the records
            differ (each differing field is named with each rank's value); on a rank that
            failed itself, nothing is raised here: it raises its own error.
        """
        told = None if error is None else f"{type(error).__name__}: {error}"
        gathered = self.comm.allgather((record, told))
        self.agreements += 1
        failed = {rank: told for rank, (_, told) in enumerate(gathered) if told is not None}
        refusal = None
        if error is not None:
            error.bpnn_ranks_know = True  # every rank has it (a Start lets it pass)
        elif failed:
            refusal = RanksDisagree(
                "; ".join(f"rank {rank} of {self.size} failed before training: {told}"
                          for rank, told in failed.items()), failed=failed)
        else:
            refusal = _disagreement(gathered, record)
        if refusal is not None:
            refusal.bpnn_ranks_know = True
            raise refusal

    def synchronize_start(self, network):
        """Give every rank rank 0's weights and random stream (so the same shuffles)."""
        backend = network.backend
        state = self.comm.bcast(network.rng.state, root=0)
        network.rng.state = state
        params = network.parameters
        for index, param in enumerate(params):
            host = backend.to_numpy(param, copy=True)
            self.comm.Bcast(host, root=0)
            params[index] = assign(backend.xp, param, backend.asarray(host, dtype=network.dtype))
        network.adopt_parameters(params)

    def shard(self, start, stop):
        """Rank's piece ``(start, stop)`` of the global batch ``[start, stop)``: ``P``
        contiguous pieces whose sizes differ by at most one."""
        n, size, rank = stop - start, self.size, self.rank
        low = start + (n * rank) // size
        high = start + (n * (rank + 1)) // size
        return low, high

    def loss_and_gradients(self, network, xp, X, T, n_global, *, l2=0.0, l2_shared=False):
        """The mean loss and its gradient over a global batch of ``n_global`` rows, of
        which this rank holds ``(X, T)``: its part scaled by its share ``n / n_global``
        (folded into the delta), then summed over the ranks."""
        share = X.shape[0] / n_global
        if l2_shared:  # shared by the global batch's rows (weights are not distributed)
            l2, l2_shared = l2 / n_global, False
        rng = GlobalRows(network.rng, self.shard(0, n_global)[0], n_global)
        if share:
            loss, grads = network.loss_and_gradients(xp, X, T, l2=l2, l2_shared=l2_shared,
                                                     scale=share, rng=rng)
            loss = loss * share
        else:  # a global batch smaller than the number of ranks: nothing here
            if any(layer.stochastic for layer in network.layers):  # but the draws, which
                run_layers(network._body, xp, X, training=True, rng=rng)  # keep ranks alike
            params = network.parameters
            loss = xp.zeros((), dtype=params[0].dtype, device=network.backend.device)
            grads = [xp.zeros_like(param) for param in params]
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
        flat, _ = write_flat(xp, [*grads, xp.reshape(loss, (1,))], flat)
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

    def abort(self, error, *, traceback_shown=False):
        """End every rank of the job: a raising rank must not leave the others waiting.

        The rank's buffered standard output is flushed; its traceback (unless
        ``traceback_shown``, the error is one of bpnn's own about the user's input,
        :data:`SAID_ERRORS`, or a Ctrl-C), a one-line summary and :attr:`last_words` go to
        its standard error.  The call then waits until the process manager has read them
        from their pipes (at most ``ABORT_DRAIN_SECONDS``): the abort races their
        forwarding, and the job could otherwise end without saying why.  ``MPI_Abort`` may
        return before the process manager ends the job (MPICH's does); no code of the
        failed rank runs after it.
        """
        try:
            with contextlib.suppress(AttributeError, OSError, ValueError):
                sys.stdout.flush()  # a closed or replaced stdout must not hide the message
            interrupted = isinstance(error, KeyboardInterrupt)
            if not (traceback_shown or interrupted or isinstance(error, SAID_ERRORS)):
                traceback.print_exception(error, file=sys.stderr)
            what = "was interrupted" if interrupted else \
                f"failed: {type(error).__name__}: {error}"
            print(f"bpnn: rank {self.rank} of {self.size} {what}; aborting the MPI job",
                  file=sys.stderr, flush=True)
            if self.last_words is not None:
                self.last_words(error)
                sys.stderr.flush()
            _wait_until_read((sys.stdout, sys.stderr), ABORT_DRAIN_SECONDS)
        finally:  # a standard error that cannot be written must not spare the others
            self.comm.Abort(1)
            os._exit(1)  # Abort returned: the job is ending; this rank must not go on


class GlobalRows:
    """The run's random stream as one rank sees it: every mask is drawn for the rows of
    the whole global batch, of which the rank keeps its own piece.

    Every rank's stream then advances alike (their shuffles stay the same), and P ranks
    draw the masks one process with the global batch would: a seed gives the same run.

    Parameters
    ----------
    rng : HostRandom
        The network's stream.
    low : int
        Where this rank's rows start in the global batch.
    n_global : int
        The global batch's rows.
    """

    def __init__(self, rng, low, n_global):
        self.rng, self.low, self.n_global = rng, low, n_global

    def keep_mask(self, shape, keep):
        """This rank's rows of a global-batch ``HostRandom.keep_mask``."""
        host = self.rng.host_keep_mask((self.n_global, *shape[1:]), keep)
        return self.rng.backend.asarray(host[self.low:self.low + shape[0]])


class Start:
    """The start of a distributed fit, up to the ranks' agreement.

    ``with dist.starting() as start:`` around the whole fit, and ``start.agree(record)``
    once every rank has checked its data and options.  An exception escaping the block
    before any agreement inside it joins the agreement with the error (so every other
    rank raises :class:`RanksDisagree` naming it, and this rank its own error); one after
    it, other than those the ranks agreed on, aborts the job (``MPI_Abort``): the others
    may be waiting in a collective call.  Blocks nest (an estimator's fit around the
    network's).  With ``dist`` None (not distributed) it does nothing.
    """

    def __init__(self, dist):
        self.dist = dist
        self.seen = None

    def __enter__(self):
        if self.dist is not None:
            self.dist.local_rank  # noqa: B018 - the one collective call before the agreement
            self.seen = self.dist.agreements
        return self

    def agree(self, record):
        """Join the agreement with this rank's ``record`` (see :meth:`Distributed.agree`)."""
        if self.dist is not None:
            self.dist.agree(record)

    def __exit__(self, kind, error, trace):
        dist = self.dist
        if dist is None or error is None or getattr(error, "bpnn_ranks_know", False):
            return False
        if dist.agreements == self.seen:
            dist.agree(error=error)  # the others raise RanksDisagree; this rank its own
        elif dist.size > 1:
            dist.abort(error)  # no rank may be left waiting in a collective call
        return False


def start_record(network, data, **options):
    """What every rank of a distributed fit must agree on, as a dict of plain values.

    Parameters
    ----------
    network : Network
        Built: its dtype and layer shapes.
    data : data provider or tuple of arrays
        The fit's provider (arrays, or files and memory maps) or ``(X, T)``: its rows,
        columns and digest (see :func:`data_digest`).
    **options
        Anything else that must be equal (epochs, batch size, optimizer, penalty...);
        an optimizer counts by its name and configuration.
    """
    arrays, stream = _sources(data)
    pair = arrays[:2] if arrays is not None else (stream.X, stream.T)
    return {"rows": pair[0].shape[0], "columns": [tuple(part.shape[1:]) for part in pair],
            "dtype": network.dtype_name,
            "layer shapes": [tuple(param.shape) for param in network.parameters],
            **{name: _plain(value) for name, value in options.items()},
            "data digest": data_digest(network.backend, data)}


def data_digest(backend, data):
    """A short hash of a fit's data (a provider, or a tuple of arrays): of the whole
    arrays' host bytes (through the backend's ``to_numpy``) up to :data:`DIGEST_BYTES`,
    else of an evenly strided sample of :data:`DIGEST_ROWS` rows; for files and memory
    maps, that sample read from them."""
    digest = hashlib.blake2b(digest_size=16)
    arrays, stream = _sources(data)
    if arrays is not None:
        n = arrays[0].shape[0]
        whole = sum(math.prod(array.shape) for array in arrays) * 8 <= DIGEST_BYTES
        rows = None if whole else _strided(n)
        for array in arrays:
            sample = array if rows is None else backend.xp.take(
                array, backend.xp.asarray(rows, device=backend.device), axis=0)
            _update(digest, backend.to_numpy(sample))
    else:  # rows read from files: a sample, the same on every rank
        for block in stream.host_batch(_strided(stream.n_samples)):
            _update(digest, block)
    return digest.hexdigest()


def _sources(data):
    """``(arrays, None)`` for arrays or a provider of arrays, ``(None, stream)`` for rows
    read from files."""
    if isinstance(data, (tuple, list)):
        return tuple(array for array in data if array is not None), None
    arrays = getattr(data, "arrays", None)
    return (arrays, None) if arrays is not None else (None, data.stream)


def _strided(n):
    """At most :data:`DIGEST_ROWS` row indices spread evenly over ``n`` rows."""
    if n <= DIGEST_ROWS:
        return list(range(n))
    return sorted({(i * (n - 1)) // (DIGEST_ROWS - 1) for i in range(DIGEST_ROWS)})


def _update(digest, host):
    digest.update(f"{host.shape} {host.dtype};".encode())
    digest.update(host.tobytes())


def _plain(value):
    """A value comparable across ranks: optimizers by their name and configuration."""
    config = getattr(value, "config", None)
    if callable(config):
        return f"{type(value).__name__}{sorted(config().items())}"
    return value


def _disagreement(gathered, record):
    """The :class:`RanksDisagree` for the fields the gathered records differ on, or None."""
    fields = [field for field in record
              if any(other.get(field) != record[field] for other, _ in gathered)]
    if not fields:
        return None
    return RanksDisagree("the ranks of the distributed fit disagree on "
                         + "; ".join(f"{field} ({_values(gathered, field)})" for field in fields)
                         + ": every rank must have the same data and options", fields=fields)


def _values(gathered, field):
    """``rank 0: a, rank 1: b`` for one field of the gathered records."""
    values = [(rank, record.get(field)) for rank, (record, _) in enumerate(gathered)]
    shown = [f"rank {rank}: {_short(value)}" for rank, value in values]
    return ", ".join(shown)


def _short(value, limit=60):
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _abort_on_uncaught(dist):
    """Make an uncaught exception end the whole MPI job: the Python default prints it, and
    the rank's exit would leave the others waiting in their next collective call."""
    previous = sys.excepthook
    if getattr(previous, "bpnn_aborts", False):
        return

    def hook(kind, error, trace):
        previous(kind, error, trace)
        dist.abort(error, traceback_shown=True)

    hook.bpnn_aborts = True
    sys.excepthook = hook


def _wait_until_read(streams, seconds):
    """Wait until the pipes behind ``streams`` hold no unread bytes, or ``seconds`` pass.

    Under ``mpiexec`` a rank's standard output and error are pipes to the process manager,
    which forwards what it reads; bytes still in a pipe when the job is aborted may be
    lost.  A stream that is not a pipe (a terminal, a file, no descriptor at all) is not
    waited for.
    """
    try:
        import fcntl
        import termios
    except ImportError:
        return  # not POSIX (Windows): nothing to ask
    deadline = time.monotonic() + seconds
    for stream in streams:
        with contextlib.suppress(AttributeError, OSError, ValueError):
            descriptor = stream.fileno()
            if not stat.S_ISFIFO(os.fstat(descriptor).st_mode):
                continue
            # FIONREAD on either end of a pipe: the bytes written and not yet read
            while int.from_bytes(fcntl.ioctl(descriptor, termios.FIONREAD, bytes(4)),
                                 sys.byteorder) > 0 and time.monotonic() < deadline:
                time.sleep(0.005)
