"""NumPy on the CPU: the default backend."""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from .base import Backend
from .numpy_namespace import make_namespace


def _blas_description():
    """``"scipy-openblas 0.3.29"`` or similar, from NumPy's build configuration."""
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
    except Exception:  # an old NumPy or an unusual build: not worth failing for
        return "unknown BLAS"


class NumpyBackend(Backend):
    """NumPy arrays in host memory.

    NumPy 2 implements the Array API standard in its main namespace, so the
    math runs on ``numpy`` itself, without a wrapper's call overhead (and with
    leaner ``sum`` and ``max``, see :mod:`.numpy_namespace`); an older NumPy
    goes through ``array_api_compat.numpy``.
    """

    name = "numpy"
    library = "numpy"

    @classmethod
    def availability(cls):
        return True, ""

    def __init__(self, device=None):
        if device not in (None, "cpu"):
            raise InputError(f"the numpy backend runs on the CPU only, not on device {device!r}")
        if int(np.__version__.split(".")[0]) >= 2:
            self.xp = make_namespace()
        else:  # pragma: no cover - NumPy 1.x
            import array_api_compat.numpy as xp

            self.xp = xp
        self.device = "cpu"

    def owns(self, x):
        return isinstance(x, np.ndarray)

    def _from_host(self, host, dtype):
        return np.asarray(host, dtype=dtype)

    def to_numpy(self, x, copy=False):
        return np.array(x, copy=True) if copy else np.asarray(x)

    def errstate(self):
        """NumPy's ``errstate`` with overflow, invalid and divide ignored (bpnn checks
        for non-finite results itself)."""
        return np.errstate(over="ignore", invalid="ignore", divide="ignore")

    def describe(self):
        return f"NumPy {np.__version__} on the CPU ({_blas_description()})"
