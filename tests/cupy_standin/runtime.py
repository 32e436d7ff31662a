"""Stand-in for ``cupy.cuda.runtime``: the calls bpnn makes, with CUDA's side effects."""

from __future__ import annotations

from . import _gpu
from ._gpu import CUDARuntimeError  # noqa: F401  (CuPy's name for runtime failures)

__all__ = ["CUDARuntimeError", "getDeviceCount", "getDevice", "setDevice", "deviceSynchronize",
           "memGetInfo", "getDeviceProperties", "runtimeGetVersion", "driverGetVersion"]


def getDeviceCount():
    return _gpu.config["device_count"]  # no context: the driver only lists devices


def getDevice():
    return _gpu.current_device()


def setDevice(device):
    _gpu.set_device(int(device))


def deviceSynchronize():
    _gpu.use_context(_gpu.current_device())
    _gpu.synchronize_device(_gpu.current_device())


def memGetInfo():
    """``(free, total)`` bytes of the current device (needs its context, as in CUDA)."""
    _gpu.use_context(_gpu.current_device())
    return _gpu.config["free_memory"], _gpu.config["total_memory"]


def getDeviceProperties(device):
    _gpu.check_device(int(device))  # no context, as in CUDA
    return {"name": b"CPU stand-in GPU", "totalGlobalMem": _gpu.config["total_memory"],
            "major": 9, "minor": 0, "multiProcessorCount": 132}


def runtimeGetVersion():
    return 12080


def driverGetVersion():
    return 12080
