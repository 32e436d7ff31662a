"""The backend adapter: what the math needs from an array library beyond the standard."""

from __future__ import annotations

import contextlib

import numpy as np

from ..errors import InputError
from .host_memory import keep_freed_memory
from .random import HostRandom, RandomStateStream

#: The version of the Array API standard bpnn's math is written against: it passes Python
#: scalars to elementwise functions (``xp.maximum(X, 0.0)``), which came in 2024.12.  An
#: adapter's namespace declares it (or a later one) in ``__array_api_version__``.
ARRAY_API_VERSION = "2024.12"

#: The floating dtypes a model may use, by name.
FLOAT_DTYPES = ("float32", "float64")

#: The selector's :func:`~bpnn.backends.get_backend`.  The selector imports this module
#: and every adapter, so none of them imports it back: it registers itself here when it
#: is imported (importing :mod:`bpnn.backends` imports it), and an adapter that needs
#: another backend object (a model unpickled, one GPU per MPI rank) asks :func:`select`.
_selector = None


def register_selector(get_backend):
    """Make ``get_backend`` what :func:`select` calls; the selector does, when imported."""
    global _selector
    _selector = get_backend


def select(spec):
    """The backend object for ``spec`` (``"numpy"``, ``"cupy:1"``...), from the selector."""
    return _selector(spec)


def foreign_library(x):
    """The library name of ``x`` when it is an array but not a NumPy one, else ``None``."""
    if isinstance(x, (np.ndarray, np.generic)):
        return None
    if hasattr(x, "__array_namespace__") or hasattr(x, "__dlpack__"):
        return type(x).__module__.split(".")[0]
    return None


class Backend:
    """One array library (and one device of it) seen through the Array API.

    Subclasses set :attr:`name` and :attr:`library`, implement
    :meth:`availability`, build :attr:`xp` and :attr:`device` in ``__init__``
    and override the crossings of the host/device border where the library
    has a faster or required way.

    Attributes
    ----------
    name : str
        The name the selector knows this backend by (``"numpy"``, ``"cupy"``...).
    xp : module
        The Array API standard namespace used by the math.
    device : object
        The device every array of this backend is created on.
    """

    name = "base"
    #: The importable name of the library behind this backend.
    library = ""
    #: Whether operations may return before their result is computed.
    asynchronous = False
    #: Whether :meth:`compile` compiles (JAX): a training step prepares a traceable
    #: copy of itself only then.
    compiles = False

    xp = None
    device = None

    # -- availability -------------------------------------------------------
    @classmethod
    def availability(cls):
        """Whether this backend can run here.

        Returns
        -------
        available : bool
        reason : str
            Why it cannot run (empty when it can).
        """
        raise NotImplementedError

    @classmethod
    def is_available(cls):
        """``True`` when :meth:`availability` says this backend can run here."""
        return cls.availability()[0]

    # -- dtypes -------------------------------------------------------------
    def dtype(self, name):
        """The namespace's dtype object for ``"float32"`` or ``"float64"``."""
        if name not in FLOAT_DTYPES:
            raise InputError(f"dtype must be one of {FLOAT_DTYPES}, got {name!r}")
        return getattr(self.xp, name)

    def dtype_name(self, dtype):
        """The name (``"float32"``...) of one of this namespace's dtypes, or ``None``."""
        for name in ("float32", "float64", "float16", "int8", "int16", "int32", "int64",
                     "uint8", "uint16", "uint32", "uint64", "bool", "complex64", "complex128"):
            if getattr(self.xp, name, None) == dtype:
                return name
        return None

    # -- the host/device border -----------------------------------------------
    def owns(self, x):
        """Whether ``x`` is an array of this backend's library."""
        raise NotImplementedError

    def asarray(self, x, dtype=None, copy=False):
        """Move host data (or an array of this backend) onto the device.

        Parameters
        ----------
        x : array_like
            A NumPy array, nested sequence or scalar, or an array of this
            backend's own library.
        dtype : dtype, optional
            A dtype of :attr:`xp`; by default the data keeps its own.
        copy : bool, default False
            Return an array that shares no memory with ``x``, which the caller
            may then write in place (a network's own parameters and states).

        Returns
        -------
        array
            An array of :attr:`xp` on :attr:`device`.
        """
        if self.owns(x):
            self._check_device(x)
            if not self.xp.isdtype(x.dtype, ("real floating", "integral", "bool")):
                raise InputError(f"expected real numbers, got an array of dtype {x.dtype}")
            if dtype is not None and x.dtype != dtype:
                with self.device_current():
                    return self.xp.astype(x, dtype)  # a new array already
            if not copy:
                return x
            with self.device_current():
                return self.xp.asarray(x, copy=True)
        library = foreign_library(x)
        if library is not None:
            raise InputError(
                f"got an array of {library}, but this model runs on the {self.name!r} backend: "
                f"convert the data to NumPy first, or use the backend that matches it")
        try:
            host = np.asarray(x)
        except (ValueError, TypeError) as error:  # ragged nesting and the like
            raise InputError(f"cannot read the data as one rectangular array: {error}") from None
        if host.dtype.kind not in "biuf":
            raise InputError(f"expected real numbers, got data of dtype {host.dtype}")
        array = self._from_host(host, dtype)
        if not copy:
            return array
        with self.device_current():  # the copy is made where the array lives
            return self.xp.asarray(array, copy=True)

    def _from_host(self, host, dtype):
        """Copy a NumPy array onto :attr:`device` (the one host-to-device crossing)."""
        return self.xp.asarray(host, dtype=dtype, device=self.device)

    def _check_device(self, x):
        """Raise ``ValueError`` when an array of this library lives on another device."""

    def to_numpy(self, x, copy=False):
        """An array of this backend as a NumPy array on the host.

        With ``copy=False`` the result may share memory with ``x`` (NumPy, and
        PyTorch on the CPU); ``copy=True`` always returns an independent array.
        """
        return np.array(x, copy=True) if copy else np.asarray(x)

    # -- randomness and timing --------------------------------------------------
    def random(self, seed=None):
        """A :class:`HostRandom` stream (NumPy ``PCG64(seed)``) delivering to this device;
        for a ``numpy.random.RandomState`` seed, scikit-learn's stream on it
        (:class:`~bpnn.backends.random.RandomStateStream`)."""
        if isinstance(seed, np.random.RandomState):
            return RandomStateStream(self, seed)
        return HostRandom(self, seed)

    def synchronize(self):
        """Wait until every queued operation on :attr:`device` has finished."""

    def free_memory(self):
        """Free bytes on a GPU device, or ``None`` for the host (where streamed data
        stays streamed: memory there is the process's own)."""
        return None

    def upload(self, host, dtype=None):
        """Move a host batch to the device for training; adapters of asynchronous devices
        overlap the copy with the computation (see the CuPy adapter)."""
        return self.asarray(host, dtype=dtype)

    def errstate(self):
        """A context in which the library's floating-point warnings are silent.

        bpnn runs its public calls inside it: an overflow gives ``inf`` as the
        standard says, and bpnn checks for NaN and infinity itself (the
        training loop raises :class:`DivergenceError`), so a warning from deep
        inside the library would only be noise.  Libraries that do not warn
        (CuPy, PyTorch) use this do-nothing default.
        """
        return contextlib.nullcontext()

    def scope(self):
        """The context every public call runs its array work in: this backend's device
        current, and the library's floating-point warnings silent (:meth:`errstate`).

        Array API creation functions place new arrays on the *current* device
        whatever their ``device=`` says on some libraries (array-api-compat's
        CuPy namespace ignores it), so a model on a second GPU must make that
        GPU current around everything it computes.  A host backend has no device
        to make current: its scope is :meth:`errstate` alone.  The GPU adapters
        return :meth:`device_current` (their libraries never warn); an adapter
        that needs both combines them.
        """
        return self.errstate()

    def device_current(self):
        """A context in which :attr:`device` is the library's current device (CuPy's
        ``with Device``, PyTorch's ``torch.cuda.device``); nothing for host backends."""
        return contextlib.nullcontext()

    def training_memory(self):
        """A context for a training run: the host memory one step frees is kept for the next.

        See :func:`~bpnn.backends.host_memory.keep_freed_memory`: without it a
        step that gives its temporaries back to the system takes them again at
        the next step, page fault by page fault.  It serves every backend, since
        streamed batches are host arrays on any of them; device memory is
        reused by the GPU libraries' own pools (CuPy's, PyTorch's).
        """
        return keep_freed_memory()

    def compile(self, function):
        """``function`` compiled for this backend's device, or ``None`` where the library
        has no compiler bpnn uses (every adapter but JAX's): the caller then runs its
        code as it is.

        ``function`` must be pure: it reads only its arguments (lists, tuples and dicts
        of arrays and Python numbers) and returns new values, as
        :meth:`bpnn.steps.TrainStep._pure` does.
        """
        return None

    @contextlib.contextmanager
    def limit_threads(self, threads):
        """Hold the library's own CPU thread pool at ``threads`` inside the block (the
        BLAS pools are threadpoolctl's to hold); a library without one does nothing."""
        yield

    # -- description ------------------------------------------------------------
    def describe(self):
        """One line: library, version and device."""
        raise NotImplementedError

    @property
    def spec(self):
        """The name :func:`~bpnn.backends.get_backend` rebuilds this backend from."""
        return self.name

    def for_local_rank(self, local_rank):
        """The backend one MPI rank of a node uses: one GPU per rank, by the rank's index on
        its node (round robin over the node's GPUs); a host backend is shared."""
        return self

    def __reduce__(self):
        # a model pickled with its backend unpickles onto the same backend and device
        # of the unpickling process (the module objects inside are not picklable)
        return _backend_from_spec, (self.spec,)

    def __repr__(self):
        return f"<bpnn backend {self.name!r} on {self.device}>"


def _backend_from_spec(spec):
    return select(spec)
