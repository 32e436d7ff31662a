"""A list of arrays as one flat vector and back: the L-BFGS iterate, the MPI gradient buffer."""

from __future__ import annotations

import math

from .update import assign, writable


def write_flat(xp, arrays, flat):
    """``arrays`` one after the other at the start of the 1-d ``flat``.

    Returns ``(flat, end)``: the vector (``flat`` itself, written in place, where
    the library allows it; a new vector where its arrays are immutable) and where
    the arrays end in it.
    """
    pieces = [xp.reshape(array, (-1,)) for array in arrays]
    end = sum(math.prod(array.shape) for array in arrays)
    if not writable(xp):
        return xp.concat([*pieces, flat[end:]]), end
    start = 0
    for piece in pieces:
        flat[start:start + piece.shape[0]] = piece
        start += piece.shape[0]
    return flat, end


def read_flat(xp, flat, arrays):
    """Replace each of ``arrays`` (a list) by its piece of the 1-d ``flat``, in order: in
    place where the library allows it (see :func:`bpnn.update.assign`); returns where
    they end."""
    start = 0
    for index, array in enumerate(arrays):
        size = math.prod(array.shape)
        arrays[index] = assign(xp, array, xp.reshape(flat[start:start + size], array.shape))
        start += size
    return start
