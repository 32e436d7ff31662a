"""The stand-in's ``ndarray`` and the one place every operation goes through (:func:`launch`).

An array is a NumPy array standing for device memory, the device it lives on and the
memory :class:`~._gpu.Block` it views.  :func:`launch` plays a kernel launch: it refuses
host arrays and arrays of another device than the current one (as CuPy does), records
which stream read and wrote which memory (raising on races), and wraps the results as
arrays of the current device.
"""

from __future__ import annotations

import numbers
import operator

import numpy as np

from . import _gpu


def _device_mismatch(array_device, current):
    return ValueError(f"The device where the array resides ({array_device}) is different from "
                      f"the current device ({current}). Peer access is unavailable between "
                      f"these devices.")


def _unwrap(value, found):
    """``value`` with every stand-in array replaced by its NumPy data (collected in
    ``found``); host arrays are refused, as CuPy refuses them."""
    if type(value) is ndarray:
        found.append(value)
        return value._data
    if isinstance(value, (int, float, bool, type(None), str, np.generic, np.dtype, type)):
        return value
    if isinstance(value, ndarray):
        found.append(value)
        return value._data
    if isinstance(value, np.ndarray):
        raise TypeError(f"Unsupported type {type(value)}")
    if isinstance(value, (list, tuple)):
        return type(value)(_unwrap(item, found) for item in value)
    if isinstance(value, slice):
        return slice(_unwrap(value.start, found), _unwrap(value.stop, found),
                     _unwrap(value.step, found))
    return value


def launch(function, args, kwargs=None, *, writes=()):
    """Run ``function`` (a NumPy callable) as a kernel on the current device and stream.

    ``writes`` are the arrays written in place (besides ``out=``).  Returns the results
    as stand-in arrays; a result that views an input's memory views its block.
    """
    found = []
    host_args = [_unwrap(value, found) for value in args]
    host_kwargs = {key: _unwrap(value, found) for key, value in kwargs.items()} \
        if kwargs else {}
    stream = _gpu.current_stream_state()
    device_id = stream.device_id
    for array in found:
        if array._device != device_id:
            raise _device_mismatch(array._device, device_id)
    _gpu.contexts.add(device_id)
    if stream.pending:
        stream.run_until(stream.queued)  # in order: earlier deferred copies on this stream
    seq = stream.next()
    out = kwargs.get("out") if kwargs else None
    if out is not None or writes:
        written = {id(array) for array in writes}
        if isinstance(out, ndarray):
            written.add(id(out))
        for array in found:
            array._block.access(stream, seq, id(array) in written)
    else:
        for array in found:
            array._block.access(stream, seq, False)
    with np.errstate(all="ignore"):  # CuPy's kernels never warn: inf and NaN are results
        result = function(*host_args, **host_kwargs)
    return _wrap(result, found, stream, seq, out)


def _wrap(result, inputs, stream, seq, out=None):
    if isinstance(result, tuple):
        return tuple(_wrap(item, inputs, stream, seq) for item in result)
    if out is not None and isinstance(out, ndarray) and result is out._data:
        return out
    if isinstance(result, (np.ndarray, np.generic)):
        data = np.asarray(result)
        if data.base is not None:
            for array in inputs:  # a view keeps its memory (and that memory's history)
                if np.may_share_memory(data, array._data):
                    return ndarray._view(data, array)
        block = _gpu.Block(stream.device_id)
        block.last_write = (stream, seq)
        block.accesses[stream] = seq
        return ndarray._new(data, block, None)
    return result


def _host_read(array, stream=None):
    """The array's data on the host, as ``get()`` gives it: the copy runs on the current
    stream of the array's device (CuPy's ``get`` enters that device), or on ``stream``,
    and the host waits for it."""
    state = _gpu.current_stream_state(array._device) if stream is None else stream._state
    state.run_until(state.queued)
    seq = state.next()
    array._block.access(state, seq, write=False)
    state.finish_until(seq)
    return array._data


def _binary(ufunc, reflected=False):
    def method(self, other):
        if isinstance(other, np.ndarray):  # CuPy refuses host arrays in kernels
            raise TypeError(f"Unsupported type {type(other)}")
        if not isinstance(other, (ndarray, numbers.Number, np.generic)):
            return NotImplemented
        return launch(ufunc, (other, self) if reflected else (self, other))
    return method


def _inplace(ufunc):
    def method(self, other):
        if isinstance(other, np.ndarray):
            raise TypeError(f"Unsupported type {type(other)}")
        launch(ufunc, (self, other), {"out": self}, writes=(self,))
        return self
    return method


def _unary(ufunc):
    def method(self):
        return launch(ufunc, (self,))
    return method


class ndarray:
    """An array on one CUDA device (of the stand-in)."""

    __array_priority__ = 100

    # -- construction (not CuPy's API: the stand-in's own) ------------------------------
    @classmethod
    def _new(cls, data, block, lease):
        self = object.__new__(cls)
        self._data = data
        self._block = block
        self._lease = lease
        self._device = block.device_id
        return self

    @classmethod
    def _view(cls, data, base):
        return cls._new(data, base._block, base._lease)

    def __init__(self, shape, dtype=float, memptr=None, strides=None, order="C"):
        data, block, lease = _gpu.allocate(shape, dtype)
        self._data, self._block, self._lease = data, block, lease
        self._device = block.device_id

    # -- attributes ---------------------------------------------------------------------
    shape = property(lambda self: self._data.shape)
    dtype = property(lambda self: self._data.dtype)
    ndim = property(lambda self: self._data.ndim)
    size = property(lambda self: self._data.size)
    itemsize = property(lambda self: self._data.itemsize)
    nbytes = property(lambda self: self._data.nbytes)
    strides = property(lambda self: self._data.strides)

    @property
    def device(self):
        from .cuda import Device

        return Device(self._device)

    @property
    def T(self):
        return launch(np.transpose, (self,))

    @property
    def mT(self):
        return launch(lambda a: np.swapaxes(a, -1, -2), (self,))

    # -- the host border --------------------------------------------------------------
    def get(self, stream=None, order="C", out=None, blocking=True):
        data = _host_read(self, stream)
        if out is not None:
            np.copyto(out, data)
            return out
        return np.array(data, order=order, copy=True)

    def set(self, arr, stream=None):
        """Copy host ``arr`` in: on ``stream`` (or the current one); a copy from page-locked
        memory, or on a stream that is not current, runs late (see ``_gpu``)."""
        if not isinstance(arr, np.ndarray):
            raise TypeError("Only numpy.ndarray can be set to cupy.ndarray")
        if self.dtype != arr.dtype:
            raise TypeError(f"{arr.dtype} array cannot be set to {self.dtype} array")
        if self.shape != arr.shape:
            raise ValueError(f"Shape mismatch. Old shape: {self.shape}, new shape: {arr.shape}")
        copy_from_host(self, arr, stream)

    def __array__(self, dtype=None, copy=None):
        raise TypeError("Implicit conversion to a NumPy array is not allowed. Please use "
                        "`.get()` to construct a NumPy array explicitly.")

    def item(self):
        return _host_read(self).item()

    def tolist(self):
        return _host_read(self).tolist()

    def __float__(self):
        return float(_host_read(self))

    def __int__(self):
        return int(_host_read(self))

    def __bool__(self):
        return bool(_host_read(self))

    def __complex__(self):
        return complex(_host_read(self))

    def __len__(self):
        return len(self._data)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __repr__(self):
        return repr(_host_read(self)).replace("\n", " ")[:-1] + f", device={self._device})"

    __str__ = __repr__

    # -- methods ----------------------------------------------------------------------
    def copy(self, order="C"):
        return launch(lambda a: np.array(a, order=order, copy=True), (self,))

    def astype(self, dtype, order="K", casting=None, subok=None, copy=True):
        if not copy and np.dtype(dtype) == self.dtype:
            return self
        return launch(lambda a: a.astype(dtype, order=order), (self,))

    def reshape(self, *shape, order="C", copy=None):
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        return launch(lambda a: a.reshape(shape, order=order), (self,))

    def ravel(self, order="C"):
        return launch(lambda a: a.ravel(order=order), (self,))

    def transpose(self, *axes):
        axes = axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes
        return launch(lambda a: a.transpose(*axes), (self,))

    def squeeze(self, axis=None):
        return launch(lambda a: a.squeeze(axis), (self,))

    def fill(self, value):
        launch(lambda a: a.fill(value), (self,), writes=(self,))

    def sum(self, axis=None, dtype=None, out=None, keepdims=False):
        return launch(np.sum, (self,), {"axis": axis, "dtype": dtype, "out": out,
                                        "keepdims": keepdims})

    def mean(self, axis=None, dtype=None, out=None, keepdims=False):
        return launch(np.mean, (self,), {"axis": axis, "dtype": dtype, "out": out,
                                         "keepdims": keepdims})

    def max(self, axis=None, out=None, keepdims=False):
        return launch(np.max, (self,), {"axis": axis, "out": out, "keepdims": keepdims})

    def min(self, axis=None, out=None, keepdims=False):
        return launch(np.min, (self,), {"axis": axis, "out": out, "keepdims": keepdims})

    def argmax(self, axis=None, out=None, dtype=None, keepdims=False):
        return launch(np.argmax, (self,), {"axis": axis, "out": out, "keepdims": keepdims})

    def argmin(self, axis=None, out=None, dtype=None, keepdims=False):
        return launch(np.argmin, (self,), {"axis": axis, "out": out, "keepdims": keepdims})

    def any(self, axis=None, out=None, keepdims=False):
        return launch(np.any, (self,), {"axis": axis, "out": out, "keepdims": keepdims})

    def all(self, axis=None, out=None, keepdims=False):
        return launch(np.all, (self,), {"axis": axis, "out": out, "keepdims": keepdims})

    def dot(self, b, out=None):
        return launch(np.dot, (self, b), {"out": out})

    # -- indexing ---------------------------------------------------------------------
    def __getitem__(self, key):
        if isinstance(key, np.ndarray):  # CuPy copies a host index array in
            key = _from_host(key)
        return launch(operator.getitem, (self, key))

    def __setitem__(self, key, value):
        if isinstance(value, np.ndarray):  # a host array is copied in first, as CuPy does
            value = _from_host(value)
        launch(operator.setitem, (self, key, value), writes=(self,))

    # -- NumPy's protocols: NumPy functions on these arrays run the stand-in's ---------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        from . import _namespace

        if method != "__call__" or ufunc.__name__ not in _namespace.FUNCTIONS:
            return NotImplemented
        return _namespace.FUNCTIONS[ufunc.__name__](*inputs, **kwargs)

    def __array_function__(self, func, types, args, kwargs):
        from . import _namespace

        if func.__name__ not in _namespace.FUNCTIONS:
            return NotImplemented
        return _namespace.FUNCTIONS[func.__name__](*args, **kwargs)

    # -- operators --------------------------------------------------------------------
    __add__, __radd__, __iadd__ = _binary(np.add), _binary(np.add, True), _inplace(np.add)
    __sub__, __rsub__, __isub__ = (_binary(np.subtract), _binary(np.subtract, True),
                                   _inplace(np.subtract))
    __mul__, __rmul__, __imul__ = (_binary(np.multiply), _binary(np.multiply, True),
                                   _inplace(np.multiply))
    __truediv__, __rtruediv__, __itruediv__ = (_binary(np.true_divide),
                                               _binary(np.true_divide, True),
                                               _inplace(np.true_divide))
    __floordiv__, __rfloordiv__ = _binary(np.floor_divide), _binary(np.floor_divide, True)
    __mod__, __rmod__ = _binary(np.remainder), _binary(np.remainder, True)
    __pow__, __rpow__, __ipow__ = _binary(np.power), _binary(np.power, True), _inplace(np.power)
    __matmul__, __rmatmul__ = _binary(np.matmul), _binary(np.matmul, True)
    __and__, __rand__ = _binary(np.bitwise_and), _binary(np.bitwise_and, True)
    __or__, __ror__ = _binary(np.bitwise_or), _binary(np.bitwise_or, True)
    __xor__, __rxor__ = _binary(np.bitwise_xor), _binary(np.bitwise_xor, True)
    __lshift__, __rshift__ = _binary(np.left_shift), _binary(np.right_shift)
    __lt__, __le__ = _binary(np.less), _binary(np.less_equal)
    __gt__, __ge__ = _binary(np.greater), _binary(np.greater_equal)
    __eq__, __ne__ = _binary(np.equal), _binary(np.not_equal)
    __neg__, __pos__, __abs__ = _unary(np.negative), _unary(np.positive), _unary(np.absolute)
    __invert__ = _unary(np.invert)
    __hash__ = None


def copy_from_host(array, host, stream=None):
    """Queue the copy of host ``host`` into ``array``.  From page-locked memory, or on a
    stream that is not the current one, it runs late and reads ``host`` then."""
    state = _gpu.current_stream_state() if stream is None else stream._state
    if array._device != state.device_id:
        raise _device_mismatch(array._device, state.device_id)
    _gpu.use_context(state.device_id)
    pinned = _gpu.pinned_state(host)
    late = pinned is not None or state is not _gpu.current_stream_state()
    if pinned is not None:
        pinned.reuse()
    destination = array._data
    if late:
        seq = state.defer(lambda: np.copyto(destination, host))
    else:
        state.run_until(state.queued)
        seq = state.next()
        np.copyto(destination, host)
    array._block.access(state, seq, write=True)
    if pinned is not None:
        pinned.last_copy = (state, seq)


def _from_host(host, dtype=None):
    """A new array of the current device holding a copy of host data."""
    host = np.asarray(host, dtype=dtype)
    array = ndarray(host.shape, host.dtype)
    copy_from_host(array, np.ascontiguousarray(host))
    return array
