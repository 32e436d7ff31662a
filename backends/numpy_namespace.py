"""NumPy's own namespace with leaner reductions for the math's hot loop.

NumPy 2 implements the Array API standard in its main namespace.  Its
``sum`` and ``max`` are Python wrappers that cost more than the reduction
itself on the small arrays of online learning (about 2.9 µs against 1.3 µs
for a 1x3 row); for floating arrays this namespace calls the ufunc reductions
they wrap, which give the same results.  Everything else is ``numpy`` itself.
"""

from __future__ import annotations

import types

import numpy as np

_add_reduce = np.add.reduce
_maximum_reduce = np.maximum.reduce


def _sum(x, /, *, axis=None, dtype=None, keepdims=False):
    """``numpy.sum``; floating arrays go straight to ``numpy.add.reduce``."""
    if dtype is None and x.dtype.kind == "f":
        return _add_reduce(x, axis=axis, keepdims=keepdims)
    return np.sum(x, axis=axis, dtype=dtype, keepdims=keepdims)


def _max(x, /, *, axis=None, keepdims=False):
    """``numpy.max``; floating arrays go straight to ``numpy.maximum.reduce``."""
    if x.dtype.kind == "f":
        return _maximum_reduce(x, axis=axis, keepdims=keepdims)
    return np.max(x, axis=axis, keepdims=keepdims)


def make_namespace():
    """A module holding every name of ``numpy``, with ``sum`` and ``max`` replaced."""
    namespace = types.ModuleType("bpnn.backends.numpy_namespace.xp", __doc__)
    namespace.__dict__.update({key: value for key, value in vars(np).items()
                               if not key.startswith("__")})
    namespace.sum = _sum
    namespace.max = _max
    namespace.__array_api_version__ = np.__array_api_version__
    return namespace
