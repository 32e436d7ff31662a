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

    def host_keep_mask(self, shape, keep):
        """A host boolean array of ``shape``, each entry true with probability ``keep``.

        One float32 uniform ``u`` per entry (half the bits of a float64 draw), and
        ``u < keep``: a dropout layer's mask, drawn on the host so that one seed gives
        the same masks on every backend.
        """
        return self.generator.random(shape, dtype=np.float32) < keep

    def keep_mask(self, shape, keep):
        """:meth:`host_keep_mask` moved to the device as a boolean array (one byte an
        entry crosses to a GPU)."""
        return self.backend.asarray(self.host_keep_mask(shape, keep))

    @property
    def state(self):
        """The bit generator's state (a plain dict), for checkpoints."""
        return self.generator.bit_generator.state

    @state.setter
    def state(self, value):
        self.generator.bit_generator.state = value

    def reset_order(self):
        """Start the shuffles of a new fit (a no-op: each permutation is drawn afresh)."""


class RandomStateStream(HostRandom):
    """scikit-learn's random stream: one ``numpy.random.RandomState`` for everything.

    The draws are those of scikit-learn's estimators for the same
    ``random_state``: ``uniform`` calls ``RandomState.uniform(low, high,
    shape)``, and each epoch's order is the previous one shuffled again
    (``sklearn.utils.shuffle`` of the carried index array), from the identity
    at the start of each fit (:meth:`reset_order`).

    Parameters
    ----------
    backend : Backend
    random_state : numpy.random.RandomState
        Used, and advanced, in place (shared with the caller).
    """

    def __init__(self, backend, random_state):
        self.backend = backend
        self.seed = None
        self.random_state = random_state
        self.order = None

    def normal(self, shape, dtype, scale=1.0):
        return self.backend.asarray(scale * self.random_state.standard_normal(shape),
                                    dtype=dtype)

    def uniform(self, shape, dtype, low=-1.0, high=1.0):
        return self.backend.asarray(self.random_state.uniform(low, high, shape), dtype=dtype)

    def host_permutation(self, n):
        if self.order is None or len(self.order) != n:
            self.order = np.arange(n)
        indices = np.arange(n)
        self.random_state.shuffle(indices)
        self.order = self.order[indices]
        return self.order

    def permutation(self, n):
        return self.backend.asarray(self.host_permutation(n))

    def host_keep_mask(self, shape, keep):
        """scikit-learn's stream has no float32 draws: ``random_sample(shape) < keep``."""
        return self.random_state.random_sample(shape) < keep

    def reset_order(self):
        self.order = None

    @property
    def state(self):
        name, key, pos, has_gauss, gauss = self.random_state.get_state()
        return {"bit_generator": name, "key": key.tolist(), "pos": int(pos),
                "has_gauss": int(has_gauss), "gauss": float(gauss),
                "order": None if self.order is None else self.order.tolist()}

    @state.setter
    def state(self, value):
        self.random_state.set_state((value["bit_generator"], np.asarray(value["key"],
                                                                         dtype=np.uint32),
                                     value["pos"], value["has_gauss"], value["gauss"]))
        self.order = None if value["order"] is None else np.asarray(value["order"])
