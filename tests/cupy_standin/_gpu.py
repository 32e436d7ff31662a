"""The model of the GPUs behind the stand-in: what makes GPU code wrong, kept on the CPU.

* **Devices and contexts.**  ``device_count`` devices; a current device per
  thread (0 at the start, as in CUDA); a CUDA context is created on a device
  the first time anything runs there or it is made current (CUDA 12's
  ``cudaSetDevice`` creates the primary context).  :data:`contexts` records
  where, so a test can tell that a process never touched GPU 0.
* **Streams.**  Work on the current stream runs at once (in order, so its
  results are what a GPU would give), but the host learns that it finished
  only at a synchronization point: ``Stream.synchronize``, ``Event.synchronize``,
  ``Device.synchronize`` or a copy back to the host.  Copies queued on another
  stream than the current one, and copies from page-locked memory, run late:
  only when their stream is synchronized, waited for by another stream, or
  reached by later work on the same stream.  Until then their destination
  holds whatever was there (fresh memory is filled with NaN bytes), so a
  missing wait gives wrong numbers, as it does on a GPU.
* **Races.**  Every block of device memory remembers which stream last read
  and wrote it.  Work on one stream that touches memory another stream used,
  without an ordering between them (an event waited for, or the other stream
  known to be finished), raises :class:`StreamRaceError`; so does reusing a
  page-locked host buffer while a copy from it may not have run.  This is
  what ``compute-sanitizer --tool racecheck`` and PyTorch's CUDA sanitizer
  report on real hardware.
* **The memory pool.**  ``empty`` takes blocks from a pool per device and
  stream, as CuPy's ``MemoryPool`` does: a block freed on a stream is handed
  out again for the next allocation of that size on that stream, with its
  history, so a copy on a second stream into such a block races with the
  kernels that used it before.
"""

from __future__ import annotations

import threading
import weakref

import numpy as np


class StreamRaceError(RuntimeError):
    """Two streams touched the same memory without an ordering between them."""


class CUDARuntimeError(RuntimeError):
    """Raised where the CUDA runtime reports an error (CuPy's class of that name)."""

    def __init__(self, status, message):
        self.status = status
        super().__init__(message)


#: Settings a test may change: the number of devices and each one's memory.
config = {"device_count": 2, "total_memory": 16 * 2 ** 30, "free_memory": 12 * 2 ** 30}

#: Devices on which this process created a CUDA context.
contexts: set = set()

_local = threading.local()


def check_device(device_id):
    if not 0 <= device_id < config["device_count"]:
        raise CUDARuntimeError(101, "cudaErrorInvalidDevice: invalid device ordinal")


def current_device():
    return getattr(_local, "device", 0)


def set_device(device_id):
    check_device(device_id)
    contexts.add(device_id)  # CUDA 12: cudaSetDevice initializes the primary context
    _local.device = device_id


def use_context(device_id):
    """Anything run on a device needs its context."""
    contexts.add(device_id)


# -- streams ------------------------------------------------------------------------
class StreamState:
    """One CUDA stream on one device: its queue and what the host knows has finished."""

    def __init__(self, device_id, blocking, null=False):
        self.device_id = device_id
        self.blocking = blocking
        self.null = null
        self.queued = 0  # sequence number of the last operation queued
        self.completed = 0  # the host knows operations up to here have finished
        self.pending = []  # [(seq, operation)] queued, not yet run
        self.after = {}  # {stream: seq}: this stream's later work waits for that one's
        _streams[device_id].add(self)
        if blocking and not null:
            _blocking[device_id].add(self)
            _blocking_count[device_id] += 1
            weakref.finalize(self, _forget_blocking, device_id)

    def __repr__(self):
        return f"<stream {'null' if self.null else hex(id(self))} on device {self.device_id}>"

    def next(self):
        """A new sequence number for an operation queued now (after the null stream's
        implicit ordering with blocking streams)."""
        if self.null and _blocking_count[self.device_id]:
            for other in list(_blocking[self.device_id]):
                other.run_until(other.queued)
                self.after[other] = other.queued
        elif self.blocking:
            null = null_stream(self.device_id)
            self.after[null] = null.queued
        self.queued += 1
        return self.queued

    def defer(self, operation):
        """Queue ``operation`` to run late (see the module docstring); its sequence number."""
        seq = self.next()
        self.pending.append((seq, operation))
        return seq

    def run_until(self, seq):
        pending = self.pending
        while pending and pending[0][0] <= seq:
            _, operation = pending.pop(0)
            operation()

    def finish_until(self, seq):
        """The host waited for this stream up to ``seq``."""
        self.run_until(seq)
        self.completed = max(self.completed, seq)

    def synchronize(self):
        self.finish_until(self.queued)

    def ordered_after(self, other, seq):
        """Whether this stream's work queued from now on runs after ``other``'s ``seq``."""
        return other is self or other.completed >= seq or self.after.get(other, 0) >= seq

    def wait_for(self, other, seq):
        """``cudaStreamWaitEvent``: later work here runs after ``other`` reaches ``seq``."""
        other.run_until(seq)
        self.after[other] = max(self.after.get(other, 0), seq)


_streams = {}  # device id -> WeakSet of StreamState
_blocking = {}  # device id -> WeakSet of the blocking streams other than the null stream
_blocking_count = {}  # device id -> how many there are (cheaper to ask than the WeakSet)
_null = {}


def null_stream(device_id):
    if device_id not in _null:
        _null[device_id] = StreamState(device_id, blocking=True, null=True)
    return _null[device_id]


def current_stream_state(device_id=None):
    """The current stream of the current device (or of device ``device_id``)."""
    if device_id is None:
        device_id = getattr(_local, "device", 0)
    stream = getattr(_local, "streams", _NO_STREAMS).get(device_id)
    if stream is not None:
        return stream._state
    null = _null.get(device_id)
    return null_stream(device_id) if null is None else null


_NO_STREAMS: dict = {}


def _forget_blocking(device_id):
    _blocking_count[device_id] -= 1


def set_current_stream(stream):
    if not hasattr(_local, "streams"):
        _local.streams = {}
    _local.streams[stream._state.device_id] = None if stream._state.null else stream


def current_stream_object(device_id):
    return getattr(_local, "streams", {}).get(device_id)


def synchronize_device(device_id):
    for stream in list(_streams[device_id]):
        stream.synchronize()


def reset():
    """Every stream finished and the pool emptied: a test starts on a quiet machine."""
    for device_id in range(config["device_count"]):
        synchronize_device(device_id)
    _pool.clear()


# -- memory ---------------------------------------------------------------------------
class Block:
    """Device memory: where it lives and which streams touched it, in what order."""

    __slots__ = ("device_id", "last_write", "accesses", "raw", "__weakref__")

    def __init__(self, device_id, raw=None):
        self.device_id = device_id
        self.last_write = None  # (stream, seq)
        self.accesses = {}  # {stream: seq}
        self.raw = raw  # the pooled bytes, for blocks of the memory pool

    def access(self, stream, seq, write):
        """Record that ``stream``'s operation ``seq`` reads (or writes) this block; raise
        :class:`StreamRaceError` when it is not ordered after what touched it before."""
        if write:
            for other, other_seq in self.accesses.items():
                if not stream.ordered_after(other, other_seq):
                    raise StreamRaceError(
                        f"{stream} writes device memory that {other} may still be using (its "
                        f"operation {other_seq} is queued and not waited for): the memory "
                        f"was reused too early")
            self.last_write = (stream, seq)
        elif self.last_write is not None:
            other, other_seq = self.last_write
            if not stream.ordered_after(other, other_seq):
                raise StreamRaceError(
                    f"{stream} reads device memory that {other} writes (its operation "
                    f"{other_seq}) with no event between them: the data may not be there yet")
        self.accesses[stream] = seq


class Lease:
    """One allocation from the pool; every array viewing it holds it, and the block goes
    back to the pool when the last one is gone."""

    __slots__ = ("block", "__weakref__")

    def __init__(self, block, pool_key, capacity):
        self.block = block
        weakref.finalize(self, _release, pool_key, capacity, block)


_pool = {}  # (device id, stream state id) -> {capacity: [Block]}
_pool_streams = weakref.WeakValueDictionary()
_POISON = 0xFF  # NaN in every float dtype


def _release(pool_key, capacity, block):
    _pool.setdefault(pool_key, {}).setdefault(capacity, []).append(block)


def allocate(shape, dtype):
    """A host array standing for pooled device memory on the current device, taken from
    the current stream's free blocks of that size when there is one (with its history:
    its old contents and which streams touched it)."""
    device_id = current_device()
    use_context(device_id)
    dtype = np.dtype(dtype)
    shape = tuple(int(n) for n in (shape if isinstance(shape, (tuple, list)) else (shape,)))
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    capacity = max(512, -(-nbytes // 512) * 512)  # CuPy rounds allocations to 512 bytes
    stream = current_stream_state()
    key = (device_id, id(stream))
    _pool_streams[key] = stream
    free = _pool.get(key, {}).get(capacity)
    if free:
        block = free.pop()
    else:
        block = Block(device_id, np.full(capacity, _POISON, dtype=np.uint8))
    data = block.raw[:nbytes].view(dtype).reshape(shape)
    return data, block, Lease(block, key, capacity)


# -- page-locked host memory ------------------------------------------------------------
class PinnedState:
    """What the model knows of one page-locked buffer: the last copy reading from it."""

    def __init__(self):
        self.last_copy = None  # (stream, seq)

    def reuse(self):
        """The host is about to queue a new copy from this buffer, having written it."""
        if self.last_copy is not None:
            stream, seq = self.last_copy
            if stream.completed < seq:
                raise StreamRaceError(
                    f"a page-locked host buffer is reused while the copy from it queued on "
                    f"{stream} (operation {seq}) may not have run: synchronize its event first")


def pinned_state(host_array):
    """The :class:`PinnedState` of the page-locked buffer ``host_array`` views, or ``None``
    for pageable memory."""
    base = host_array
    while base is not None:
        if base in _pinned_ids:
            return _pinned_ids[base]
        base = getattr(base, "base", None) if isinstance(base, np.ndarray) else getattr(
            base, "obj", None)
    return None


class _IdentityMap(dict):
    """A dict keyed by object identity (page-locked buffers are not hashable by value)."""

    def __contains__(self, obj):
        return dict.__contains__(self, id(obj))

    def __getitem__(self, obj):
        return dict.__getitem__(self, id(obj))


_pinned_ids = _IdentityMap()


def register_pinned(buffer):
    state = PinnedState()
    _pinned_ids[id(buffer)] = state
    weakref.finalize(buffer, dict.pop, _pinned_ids, id(buffer), None)
    return state


for _device in range(64):
    _streams[_device] = weakref.WeakSet()
    _blocking[_device] = weakref.WeakSet()
    _blocking_count[_device] = 0
