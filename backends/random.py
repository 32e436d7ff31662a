"""Random numbers drawn on the host and moved to the device.

Every backend draws from one NumPy ``Generator(PCG64(seed))`` on the host and
then copies the result to its device.  One seed therefore gives the same
initial weights and the same shuffle order on NumPy, CuPy, PyTorch and
array-api-strict alike.
"""

from __future__ import annotations

import numpy as np


class HostRandom:
    """A seeded random stream whose draws land on one backend's device.

    Parameters
    ----------
    backend : Backend
        The backend that receives the drawn arrays.
    seed : int or None
        Seed of the ``PCG64`` bit generator; ``None`` draws fresh entropy
        from the operating system (a run that is not reproducible).
    """

    def __init__(self, backend, seed=None):
        self.backend = backend
        self.seed = seed
        self.generator = np.random.Generator(np.random.PCG64(seed))

    def normal(self, shape, dtype, scale=1.0):
        """``scale * randn(*shape)`` in float64 on the host, cast to ``dtype`` on the device."""
        return self.backend.asarray(scale * self.generator.standard_normal(shape), dtype=dtype)

    def uniform(self, shape, dtype, low=-1.0, high=1.0):
        """Uniform draws on ``[low, high)`` in float64 on the host, cast to ``dtype``."""
        return self.backend.asarray(self.generator.uniform(low, high, shape), dtype=dtype)

    def permutation(self, n):
        """A permutation of ``range(n)`` as a device array of the default integer dtype."""
        return self.backend.asarray(self.generator.permutation(n))

    def host_permutation(self, n):
        """The same draw as :meth:`permutation`, left on the host (to index files)."""
        return self.generator.permutation(n)

    @property
    def state(self):
        """The bit generator's state (a plain dict), for checkpoints."""
        return self.generator.bit_generator.state

    @state.setter
    def state(self, value):
        self.generator.bit_generator.state = value
