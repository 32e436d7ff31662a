"""Writing new values into arrays: in place where the library allows it, else new arrays.

The Array API standard lets a conforming library refuse in-place updates, and
JAX does.  Every update of a parameter, of an optimizer's state or of a saved
copy goes through this module or through Python's augmented assignment, in the
form ``W -= dW`` followed by keeping the result (``params[i] = W``):

- on a library whose arrays are writable (NumPy, CuPy, PyTorch, array-api-strict)
  ``W -= dW`` writes into ``W`` and the list keeps the same array: no copy, no
  extra work beyond storing a reference;
- on one whose arrays are immutable (JAX) the same line binds ``W`` to a new
  array (Python falls back to ``W = W - dW``), and keeping it is what makes the
  update happen.

So the math stays written once.  What augmented assignment cannot say, writing
a whole array's contents into another (``saved[...] = W``), is :func:`assign`;
the commonest update, every ``params[i] -= grads[i]`` (plain SGD with its rate
folded into the gradients), is :func:`subtract`, which skips keeping the results
where they are the arrays already kept.
"""

from __future__ import annotations

#: ``{namespace: whether its arrays accept item assignment}``, probed once each
_WRITABLE = {}


def writable(xp):
    """Whether arrays of the namespace ``xp`` accept in-place writes.

    Probed once per namespace by writing into a one-element array; a library that
    refuses (JAX raises ``TypeError``) makes every update here return new arrays.
    """
    try:
        return _WRITABLE[xp]
    except KeyError:
        probe = xp.zeros((1,))
        try:
            probe[...] = 1.0
            result = True
        except (TypeError, ValueError, NotImplementedError):
            result = False
        _WRITABLE[xp] = result
        return result


def assign(xp, target, value):
    """``target``'s contents replaced by ``value`` (same shape and dtype).

    Returns ``target`` itself, written in place, where the library allows it;
    otherwise ``value``, which then stands for the updated ``target`` (sharing it
    is safe: an immutable array never changes).  Keep the result:
    ``saved[i] = assign(xp, saved[i], W)``.
    """
    if writable(xp):
        target[...] = value
        return target
    return value


def subtract(xp, params, grads):
    """``params[i] -= grads[i]`` for every ``i``, each result kept in ``params``.

    Where the library's arrays are writable each parameter is written in place and
    the list is left as it is (the hot loop of a small network's step: no stores,
    no index bookkeeping); otherwise each entry becomes its new array.
    """
    if writable(xp):
        for W, dW in zip(params, grads):
            W -= dW
        return
    for index, dW in enumerate(grads):
        params[index] = params[index] - dW
