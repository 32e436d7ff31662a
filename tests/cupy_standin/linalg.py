"""Stand-in for ``cupy.linalg``: NumPy's functions of the names CuPy has, run as kernels."""

from __future__ import annotations

import functools

import numpy as np

from ._array import launch

__all__ = ["matrix_power", "cholesky", "qr", "svd", "eigh", "eigvalsh", "norm", "cond", "det",
           "matrix_rank", "slogdet", "solve", "tensorsolve", "inv", "pinv", "tensorinv",
           "lstsq", "LinAlgError"]

LinAlgError = np.linalg.LinAlgError


def _kernel(name):
    numpy_function = getattr(np.linalg, name)

    @functools.wraps(numpy_function)
    def function(*args, **kwargs):
        return launch(numpy_function, args, kwargs)
    return function


for _name in __all__[:-1]:
    globals()[_name] = _kernel(_name)
