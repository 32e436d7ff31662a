"""Stand-in for ``cupy.cuda``: devices, streams, events and page-locked host memory."""

from __future__ import annotations

from . import _gpu, runtime  # noqa: F401  (cupy.cuda.runtime)

__all__ = ["Device", "Event", "Stream", "PinnedMemory", "PinnedMemoryPointer",
           "alloc_pinned_memory", "get_current_stream"]


class Device:
    """A CUDA device; a context manager that makes it current (CuPy's semantics: entering
    switches only when it is not current already, leaving switches back)."""

    def __init__(self, device=None):
        self.id = _gpu.current_device() if device is None else int(device)
        self._device_stack = []

    def __int__(self):
        return self.id

    def __enter__(self):
        previous = runtime.getDevice()
        self._device_stack.append(previous)
        if self.id != previous:
            self.use()
        return self

    def __exit__(self, *args):
        previous = self._device_stack.pop()
        if previous != runtime.getDevice():
            runtime.setDevice(previous)

    def __repr__(self):
        return f"<CUDA Device {self.id}>"

    def __eq__(self, other):
        return isinstance(other, Device) and other.id == self.id

    def __hash__(self):
        return hash(self.id)

    def use(self):
        runtime.setDevice(self.id)

    def synchronize(self):
        with self:
            runtime.deviceSynchronize()

    @property
    def mem_info(self):
        with self:
            return runtime.memGetInfo()

    @property
    def compute_capability(self):
        _gpu.check_device(self.id)
        return "90"


class Event:
    """A point in a stream's queue."""

    def __init__(self, block=False, disable_timing=False, interprocess=False):
        self._stream = None
        self._seq = 0

    def record(self, stream=None):
        state = _gpu.current_stream_state() if stream is None else stream._state
        _gpu.use_context(state.device_id)
        self._stream, self._seq = state, state.queued

    def synchronize(self):
        if self._stream is not None:
            self._stream.finish_until(self._seq)

    @property
    def done(self):
        return self._stream is None or self._stream.completed >= self._seq


class Stream:
    """A CUDA stream on the device current when it is made; ``with stream:`` makes it the
    current stream of its device."""

    null = None  # set below: the default stream

    def __init__(self, null=False, non_blocking=False, ptds=False, priority=None):
        device_id = _gpu.current_device()
        _gpu.use_context(device_id)
        if null:
            self._state = _gpu.null_stream(device_id)
        else:
            self._state = _gpu.StreamState(device_id, blocking=not non_blocking)
        self._previous = []

    def __enter__(self):
        self._previous.append(_gpu.current_stream_object(self._state.device_id))
        _gpu.set_current_stream(self)
        return self

    def __exit__(self, *args):
        previous = self._previous.pop()
        _gpu.set_current_stream(previous if previous is not None else _NullStream())

    def use(self):
        _gpu.set_current_stream(self)
        return self

    def record(self, event=None):
        event = Event() if event is None else event
        event.record(self)
        return event

    def wait_event(self, event):
        if event._stream is not None:
            self._state.wait_for(event._stream, event._seq)

    def synchronize(self):
        self._state.synchronize()

    @property
    def done(self):
        return self._state.completed >= self._state.queued

    @property
    def is_non_blocking(self):
        return not self._state.blocking


class _NullStream(Stream):
    """The default stream of whichever device is current when it is used."""

    def __init__(self):
        self._previous = []

    @property
    def _state(self):
        return _gpu.null_stream(_gpu.current_device())


Stream.null = _NullStream()


def get_current_stream(device_id=-1):
    device_id = _gpu.current_device() if device_id < 0 else device_id
    stream = _gpu.current_stream_object(device_id)
    return Stream.null if stream is None else stream


class PinnedMemory:
    """Page-locked host memory (``size`` bytes)."""

    def __init__(self, size):
        self._size = size
        self._ptr = id(self)


class PinnedMemoryPointer(bytearray):
    """A pointer into page-locked host memory; NumPy reads and writes it through the buffer
    protocol (a ``bytearray`` here, only for that), and ``size()`` is a method, as in CuPy."""

    def __init__(self, mem, offset):
        super().__init__(mem._size - offset)
        self.mem = mem
        self.ptr = mem._ptr + offset

    def size(self):
        return len(self)


def alloc_pinned_memory(size):
    """``size`` bytes of page-locked host memory."""
    pointer = PinnedMemoryPointer(PinnedMemory(int(size)), 0)
    _gpu.register_pinned(pointer)
    return pointer
