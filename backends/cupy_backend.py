"""CuPy on a CUDA GPU."""

from __future__ import annotations

from .base import Backend


class CupyBackend(Backend):
    """CuPy arrays on one CUDA device (``"cupy"`` or ``"cupy:1"``)."""

    name = "cupy"
    library = "cupy"
    asynchronous = True

    _probed = None  # the first probe's answer: touching the driver is not free

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

    def describe(self):
        cupy = self._cupy
        props = cupy.cuda.runtime.getDeviceProperties(self.device.id)
        gpu = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
        cuda = cupy.cuda.runtime.runtimeGetVersion()
        return f"CuPy {cupy.__version__} on {gpu} (CUDA runtime {cuda // 1000}.{cuda % 1000 // 10})"
