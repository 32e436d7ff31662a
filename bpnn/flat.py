"""A list of arrays as one flat vector and back: the L-BFGS iterate, the MPI gradient buffer."""

from __future__ import annotations

import math


def write_flat(xp, arrays, flat):
    """Copy ``arrays`` one after the other into the 1-d ``flat``; returns where they end."""
    start = 0
    for array in arrays:
        size = math.prod(array.shape)
        flat[start:start + size] = xp.reshape(array, (-1,))
        start += size
    return start


def read_flat(xp, flat, arrays):
    """Write the pieces of the 1-d ``flat`` back into ``arrays``, in place and in order;
    returns where they end."""
    start = 0
    for array in arrays:
        size = math.prod(array.shape)
        array[...] = xp.reshape(flat[start:start + size], array.shape)
        start += size
    return start
