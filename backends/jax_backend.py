"""JAX arrays: ``jax.numpy`` is a standard namespace, and its arrays are immutable.

Every update bpnn makes then returns new arrays (see :mod:`bpnn.update`): the
math is the same code as on every other backend.  A training step on JAX is
traced once per batch shape and compiled by XLA (:meth:`JaxBackend.compile_step`),
which fuses the elementwise passes NumPy runs one by one.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from .base import Backend


class JaxBackend(Backend):
    """JAX on its CPU device (``"jax"``), or on another of its devices (``"jax:gpu"``,
    ``"jax:cpu:0"``).

    Creating it turns on JAX's ``jax_enable_x64`` option, without which JAX has no
    float64 arrays: a float64 model then is float64, as on every other backend.
    A float32 model stays float32 (bpnn passes dtypes explicitly).
    """

    name = "jax"
    library = "jax"
    compiles = True

    @classmethod
    def availability(cls):
        try:
            import jax  # noqa: F401
            import jax.numpy  # noqa: F401
        except ImportError:
            return False, "JAX is not installed (pip install 'bpnn[jax]')"
        return True, ""

    def __init__(self, device=None):
        import jax
        import jax.numpy as xp

        jax.config.update("jax_enable_x64", True)
        self._jax = jax
        self.xp = xp
        kind, _, index = (device or "cpu").partition(":")
        try:
            devices = jax.devices(kind)
        except RuntimeError as error:
            raise RuntimeError(f"JAX has no {kind} device here ({error})") from None
        position = int(index) if index else 0
        if position >= len(devices):
            raise RuntimeError(f"JAX has {len(devices)} {kind} device(s), not {position + 1}")
        self.device = devices[position]
        self.asynchronous = self.device.platform != "cpu"

    @property
    def spec(self):
        if self.device.platform == "cpu" and self.device.id == 0:
            return "jax"
        return f"jax:{self.device.platform}:{self.device.id}"

    def owns(self, x):
        return isinstance(x, self._jax.Array)

    def _check_device(self, x):
        devices = getattr(x, "devices", None)
        if devices is None or isinstance(x, self._jax.core.Tracer):
            return  # a value being traced has no device yet
        if self.device not in devices():
            raise InputError(f"the array is on {sorted(map(str, devices()))}, the model on "
                             f"{self.device}")

    def _from_host(self, host, dtype):
        return self._jax.device_put(np.asarray(host, dtype=_numpy_dtype(dtype)), self.device)

    def to_numpy(self, x, copy=False):
        host = np.asarray(x)  # read-only on the CPU: a view of JAX's buffer
        return np.array(host, copy=True) if copy or not host.flags.writeable else host

    def synchronize(self):
        """JAX queues work asynchronously; bpnn reads a loss (a host float) at the end of
        every epoch, which waits for it.  A clock read after this alone may miss queued
        work: benchmarks block on their results."""
        self._jax.effects_barrier()

    def compile(self, function):
        """``jax.jit(function)``: traced once per shape of its inputs, then run as one XLA
        computation on :attr:`device` (the inputs are placed there already)."""
        return self._jax.jit(function)

    def describe(self):
        return f"JAX {self._jax.__version__} on {self.device.device_kind} ({self.device})"


def _numpy_dtype(dtype):
    """JAX's dtype objects are NumPy's (``jnp.float32 == np.float32``)."""
    return None if dtype is None else np.dtype(dtype)
