"""A stand-in for CuPy that runs on the CPU, so the cupy backend runs in CI without a GPU.

It models what makes GPU code wrong (see ``_gpu.py``): arrays that belong to one
device, a current device, CUDA contexts, streams whose copies complete later than
they are queued, and a memory pool that hands memory back per stream.  Its API is
a subset of CuPy's, checked against the real package by ``tests/test_cupy_standin.py``
(names, signatures, methods against attributes), so it refuses what CuPy refuses.

``install()`` puts it in ``sys.modules`` as ``cupy`` (with ``cupy.cuda`` and
``cupy.cuda.runtime``), before anything imports CuPy; ``tests/conftest.py`` does
so where no real CUDA device answers, and the suite's cupy backend then runs here.
"""

from __future__ import annotations

import sys

import numpy as _np

from . import _gpu, cuda, fft, linalg  # noqa: F401
from ._array import ndarray
from ._namespace import FUNCTIONS as _FUNCTIONS
from ._namespace import asnumpy, get_array_module  # noqa: F401
from ._signatures import CUPY_VERSION

__version__ = f"{CUPY_VERSION}+cpu-stand-in"

#: The scalar types and dtype tools, NumPy's own objects, as in CuPy.
TYPES = ("bool", "bool_", "byte", "cdouble", "complex128", "complex64", "complexfloating",
         "csingle", "double", "dtype", "finfo", "float16", "float32", "float64", "floating",
         "generic", "half", "iinfo", "inexact", "int16", "int32", "int64", "int8", "int_", "intc",
         "integer", "intp", "long", "longlong", "number", "short", "signedinteger", "single",
         "ubyte", "uint", "uint16", "uint32", "uint64", "uint8", "uintc", "uintp", "ulong",
         "ulonglong", "unsignedinteger", "ushort")
globals().update({name: getattr(_np, name) for name in TYPES})
inf, nan, pi, e, newaxis = _np.inf, _np.nan, _np.pi, _np.e, None

globals().update(_FUNCTIONS)

__all__ = sorted(set(_FUNCTIONS) | set(TYPES) | {
    "ndarray", "asnumpy", "get_array_module", "inf", "nan", "pi", "e", "newaxis"})

#: Where the stand-in keeps its model, for tests: ``config``, ``contexts``.
gpu = _gpu
StreamRaceError = _gpu.StreamRaceError


def install():
    """Make ``import cupy`` give the stand-in (and ``cupy.cuda``, ``cupy.cuda.runtime``)."""
    module = sys.modules[__name__]
    sys.modules["cupy"] = module
    sys.modules["cupy.cuda"] = cuda
    sys.modules["cupy.cuda.runtime"] = cuda.runtime
    sys.modules["cupy.cuda.device"] = cuda  # where CuPy defines Device
    sys.modules["cupy.linalg"] = linalg
    sys.modules["cupy.fft"] = fft
    ndarray.__module__ = "cupy"  # the library of an array is read off its type's module
    return module


def real_cupy_usable():
    """Whether the real CuPy is installed and a CUDA device answers (checked in a child
    process, so that this process creates no CUDA context and imports no CuPy)."""
    import subprocess

    probe = ("import cupy; assert cupy.cuda.runtime.getDeviceCount() > 0; "
             "cupy.asarray([1.0]).sum().item()")
    try:
        done = subprocess.run([sys.executable, "-c", probe], capture_output=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0
