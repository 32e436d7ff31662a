"""The stand-in's module functions: NumPy's, launched as kernels (:func:`._array.launch`),
each bound first against the real CuPy function's signature (``_signatures.py``), so a
call CuPy would refuse is refused here too."""

from __future__ import annotations

import functools

import numpy as np

from . import _gpu
from ._array import _from_host, _host_read, launch, ndarray
from ._signatures import SIGNATURES

#: Functions NumPy gives a different meaning or none on these arguments; left out.
_LEFT_OUT = {"asarray", "array", "asnumpy", "empty", "empty_like", "ascontiguousarray",
             "asfortranarray", "from_dlpack", "fromfile", "frombuffer", "fromstring",
             "loadtxt", "genfromtxt", "save", "savez", "savez_compressed", "load",
             "asarray_chkfinite", "copyto", "size", "shape", "ndim", "may_share_memory",
             "shares_memory", "result_type", "can_cast", "min_scalar_type", "promote_types",
             "common_type", "isscalar", "iterable", "broadcast_shapes", "get_include",
             "show_config", "issubdtype", "isdtype", "binary_repr", "base_repr",
             "get_array_module", "fuse", "vectorize", "apply_along_axis", "apply_over_axes",
             "piecewise", "einsum_path"}


def _signature(name):
    namespace = {}
    exec(f"def signature{SIGNATURES[name]}: pass", {"float": float, "int": int, "bool": bool},
         namespace)
    import inspect

    return inspect.signature(namespace["signature"])


def _kernel(name):
    numpy_function = getattr(np, name)
    signature = _signature(name)

    @functools.wraps(numpy_function)
    def function(*args, **kwargs):
        signature.bind(*args, **kwargs)  # TypeError for what CuPy does not accept
        return launch(numpy_function, args, kwargs)
    function.__module__ = "cupy"
    return function


def _passthrough(name):
    """Functions on dtypes and shapes, not array data: an array argument counts by its
    dtype (``result_type``) or shape."""
    numpy_function = getattr(np, name)

    @functools.wraps(numpy_function)
    def function(*args, **kwargs):
        args = [a.dtype if isinstance(a, ndarray) and name in _ON_DTYPES else a for a in args]
        return numpy_function(*args, **kwargs)
    return function


_ON_DTYPES = {"result_type", "can_cast", "common_type", "min_scalar_type"}


FUNCTIONS = {}
for _name in SIGNATURES:
    if _name in _LEFT_OUT or not callable(getattr(np, _name, None)):
        continue
    FUNCTIONS[_name] = _kernel(_name)

for _name in ("result_type", "can_cast", "min_scalar_type", "promote_types", "isscalar",
              "issubdtype", "ndim", "shape", "broadcast_shapes", "common_type"):
    FUNCTIONS[_name] = _passthrough(_name)


def empty(shape, dtype=float, order="C"):
    """Uninitialized memory from the current stream's pool (see ``_gpu.allocate``)."""
    _signature("empty").bind(shape, dtype, order)
    return ndarray(shape, dtype)


def empty_like(prototype, dtype=None, order="K", subok=None, shape=None):
    return empty(prototype.shape if shape is None else shape,
                 prototype.dtype if dtype is None else dtype)


def asarray(a, dtype=None, order=None, *, copy=None, blocking=False):
    """``a`` on the current device: an array of it as it is (or cast), an array of another
    device copied over (a peer copy), host data copied in."""
    if isinstance(a, ndarray):
        if a._device != _gpu.current_device():
            # a peer copy, ordered like cudaMemcpyPeer after all work on both devices
            _gpu.synchronize_device(a._device)
            _gpu.synchronize_device(_gpu.current_device())
            return _from_host(a._data if dtype is None else a._data.astype(dtype))
        if copy:
            return a.astype(a.dtype if dtype is None else dtype, copy=True)
        if dtype is not None and np.dtype(dtype) != a.dtype:
            if copy is False:
                raise ValueError("Unable to avoid copy while creating an array as requested")
            return a.astype(dtype)
        return a
    if copy is False:
        raise ValueError("Unable to avoid copy while creating an array as requested")
    return _from_host(a, dtype)


def array(obj, dtype=None, copy=True, order="K", subok=False, ndmin=0, *, blocking=False):
    result = asarray(obj, dtype=dtype, copy=copy if isinstance(obj, ndarray) else None)
    return result


def ascontiguousarray(a, dtype=None):
    return asarray(a, dtype=dtype)


def asnumpy(a, stream=None, order="C", out=None, *, blocking=True):
    """A host copy (the host waits for the copy)."""
    if isinstance(a, ndarray):
        return a.get(stream=stream, order=order, out=out)
    return np.asarray(a, order=order)


def copyto(dst, src, casting="same_kind", where=True):
    launch(np.copyto, (dst, src), {"casting": casting, "where": where}, writes=(dst,))


def size(a, axis=None):
    return a.size if axis is None else a.shape[axis]


def get_array_module(*args):
    import sys

    for arg in args:
        if isinstance(arg, ndarray):
            return sys.modules[__package__]
    return np


FUNCTIONS.update(empty=empty, empty_like=empty_like, asarray=asarray, array=array,
                 ascontiguousarray=ascontiguousarray, copyto=copyto, size=size)
