"""CuPy on a CUDA GPU."""

from __future__ import annotations

import numpy as np

from .base import Backend


class CupyBackend(Backend):
    """CuPy arrays on one CUDA device (``"cupy"`` or ``"cupy:1"``)."""

    name = "cupy"
    library = "cupy"
    asynchronous = True

    _probed = None  # the first probe's answer: touching the driver is not free
    _copy_stream = None  # created on the first upload
    _next_slot = 0

    @classmethod
    def availability(cls):
        if cls._probed is None:
            cls._probed = cls._probe()
        return cls._probed

    @staticmethod
    def _probe():
        try:
            import cupy
        except ImportError:
            return False, "CuPy is not installed (pip install 'bpnn[gpu]')"
        try:
            if cupy.cuda.runtime.getDeviceCount() < 1:
                return False, "CuPy finds no CUDA device"
            cupy.asarray([1.0]).sum().item()  # the device must answer, not only be listed
        except Exception as error:  # any CUDA failure means: not usable here
            return False, f"CuPy cannot use a CUDA device ({type(error).__name__}: {error})"
        return True, ""

    @property
    def spec(self):
        return f"cupy:{self.device.id}"

    def for_local_rank(self, local_rank):
        from .selector import get_backend

        return get_backend(f"cupy:{local_rank % self._cupy.cuda.runtime.getDeviceCount()}")

    def __init__(self, device=None):
        import array_api_compat.cupy as xp
        import cupy

        self._cupy = cupy
        self.xp = xp
        self.device = cupy.cuda.Device(0 if device is None else int(device))

    def owns(self, x):
        return isinstance(x, self._cupy.ndarray)

    def _check_device(self, x):
        if x.device != self.device:
            raise ValueError(f"the array is on {x.device}, the model on {self.device}")

    def _from_host(self, host, dtype):
        with self.device:
            return self._cupy.asarray(host, dtype=dtype)

    def to_numpy(self, x, copy=False):
        return self._cupy.asnumpy(x)  # always a fresh host array

    def synchronize(self):
        self.device.synchronize()

    def free_memory(self):
        with self.device:
            return int(self._cupy.cuda.runtime.memGetInfo()[0])

    def upload(self, host, dtype=None):
        """Copy a host batch to the GPU on a separate stream, through pinned memory.

        The batch is copied into one of two page-locked host buffers, sent with
        an asynchronous copy on the adapter's copy stream, and the current
        stream waits for that copy (an event) before using the array: the
        next batch's copy overlaps this batch's kernels.  A buffer is reused
        only after its previous copy has finished.
        """
        cupy = self._cupy
        host = np.ascontiguousarray(host, dtype=None if dtype is None else
                                    np.dtype(cupy.dtype(dtype).name))
        with self.device:
            if self._copy_stream is None:
                self._copy_stream = cupy.cuda.Stream(non_blocking=True)
                self._pinned = [None, None]
                self._pinned_done = [None, None]
            slot = self._next_slot = 1 - self._next_slot
            if self._pinned_done[slot] is not None:
                self._pinned_done[slot].synchronize()
            if self._pinned[slot] is None or self._pinned[slot].size < host.nbytes:
                self._pinned[slot] = cupy.cuda.alloc_pinned_memory(max(host.nbytes, 1 << 20))
            staging = np.frombuffer(self._pinned[slot], dtype=host.dtype,
                                    count=host.size).reshape(host.shape)
            np.copyto(staging, host)
            device = cupy.empty(host.shape, dtype=host.dtype)
            device.set(staging, stream=self._copy_stream)
            done = self._copy_stream.record()
            self._pinned_done[slot] = done
            cupy.cuda.get_current_stream().wait_event(done)
        return device

    def describe(self):
        cupy = self._cupy
        props = cupy.cuda.runtime.getDeviceProperties(self.device.id)
        gpu = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
        cuda = cupy.cuda.runtime.runtimeGetVersion()
        return f"CuPy {cupy.__version__} on {gpu} (CUDA runtime {cuda // 1000}.{cuda % 1000 // 10})"
