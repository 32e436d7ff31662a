"""CuPy on a CUDA GPU."""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from .base import Backend, select


class CupyBackend(Backend):
    """CuPy arrays on one CUDA device (``"cupy"`` or ``"cupy:1"``)."""

    name = "cupy"
    library = "cupy"
    asynchronous = True

    _probed = None  # the first probe's answer

    #: Page-locked host buffers in the upload ring: X and T of two batches, so the host
    #: stages one batch while the copies of the one before are still queued.
    UPLOAD_SLOTS = 4

    @classmethod
    def availability(cls):
        if cls._probed is None:
            cls._probed = cls._probe()
        return cls._probed

    @staticmethod
    def _probe():
        """Whether CuPy is installed and the CUDA driver lists a device.  Nothing runs on a
        device here: a probe creates no CUDA context (which would take memory on GPU 0 in
        every process that asks, each MPI rank included).  A device that is listed but
        does not work fails at the first array, with CUDA's own error."""
        try:
            import cupy
        except ImportError:
            return False, "CuPy is not installed (pip install 'bpnn[gpu]')"
        try:
            if cupy.cuda.runtime.getDeviceCount() < 1:
                return False, "CuPy finds no CUDA device"
        except Exception as error:  # no driver, a driver too old: not usable here
            return False, f"CuPy cannot use a CUDA device ({type(error).__name__}: {error})"
        return True, ""

    @property
    def spec(self):
        return f"cupy:{self.device.id}"

    def for_local_rank(self, local_rank):
        """GPU ``local_rank`` modulo the node's GPUs, made this process's current device
        for good: every later ``with Device`` is then no switch at all, and the rank never
        creates a context on any other GPU (switching back to GPU 0 would)."""
        backend = select(f"cupy:{local_rank % self._cupy.cuda.runtime.getDeviceCount()}")
        backend.device.use()
        return backend

    def __init__(self, device=None):
        import array_api_compat.cupy as xp
        import cupy

        self._cupy = cupy
        self.xp = xp
        index = 0 if device is None else int(device)
        count = cupy.cuda.runtime.getDeviceCount()
        if not 0 <= index < count:
            raise InputError(f"there is no CUDA device {index} here ({count} device"
                             f"{'s' if count != 1 else ''})")
        self.device = cupy.cuda.Device(index)
        self._pinned = [None] * self.UPLOAD_SLOTS  # page-locked buffers, made on first use
        self._pinned_bytes = [0] * self.UPLOAD_SLOTS
        self._copied = [None] * self.UPLOAD_SLOTS  # the event after each buffer's last copy
        self._next_slot = 0

    def owns(self, x):
        return isinstance(x, self._cupy.ndarray)

    def _check_device(self, x):
        if x.device != self.device:
            raise InputError(f"the array is on {x.device}, the model on {self.device}")

    def _from_host(self, host, dtype):
        with self.device:
            return self._cupy.asarray(host, dtype=dtype)

    def to_numpy(self, x, copy=False):
        return self._cupy.asnumpy(x)  # always a fresh host array

    def synchronize(self):
        self.device.synchronize()

    def device_current(self):
        return self.device  # cupy.cuda.Device is a context manager that makes it current

    def scope(self):
        return self.device  # CuPy never warns: the device alone

    def free_memory(self):
        with self.device:
            return int(self._cupy.cuda.runtime.memGetInfo()[0])

    def upload(self, host, dtype=None):
        """Copy a host batch to the GPU without waiting, through page-locked memory.

        The batch is copied into the next page-locked buffer of a ring and sent by an
        asynchronous copy queued on the *current* stream, the one the computation runs
        on; the host returns at once, so reading and staging the next batch overlaps
        the kernels queued ahead.  Why this is safe:

        * The destination comes from CuPy's memory pool, which is ordered by stream: a
          block freed by kernels of this stream is handed out again at once, and only
          work queued after them on the same stream may write it.  The copy is such
          work.  (A copy on a second stream could overwrite a freed block that a queued
          kernel still reads: silently wrong gradients.)
        * A page-locked buffer is written again only after the copy from it has run
          (the event recorded after that copy).
        """
        cupy = self._cupy
        host = np.ascontiguousarray(host, dtype=None if dtype is None else
                                    np.dtype(cupy.dtype(dtype).name))
        with self.device:
            slot = self._next_slot
            self._next_slot = (slot + 1) % self.UPLOAD_SLOTS
            if self._copied[slot] is not None:
                self._copied[slot].synchronize()
            if self._pinned_bytes[slot] < host.nbytes:
                self._pinned_bytes[slot] = max(host.nbytes, 1 << 20)
                self._pinned[slot] = cupy.cuda.alloc_pinned_memory(self._pinned_bytes[slot])
            staging = np.frombuffer(self._pinned[slot], dtype=host.dtype,
                                    count=host.size).reshape(host.shape)
            np.copyto(staging, host)
            stream = cupy.cuda.get_current_stream()
            device = cupy.empty(host.shape, dtype=host.dtype)
            device.set(staging, stream=stream)
            self._copied[slot] = stream.record()
        return device

    def describe(self):
        cupy = self._cupy
        props = cupy.cuda.runtime.getDeviceProperties(self.device.id)
        gpu = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
        cuda = cupy.cuda.runtime.runtimeGetVersion()
        return f"CuPy {cupy.__version__} on {gpu} (CUDA runtime {cuda // 1000}.{cuda % 1000 // 10})"
