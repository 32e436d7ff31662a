"""The optimizer protocol: ``step(xp, params, grads)`` updates the parameters.

The gradients are the true gradients of the loss (nothing folded in), fresh arrays
of the backward pass which the step may consume.  Every updated array is kept in
its list (``params[i] = W`` after ``W -= ...``): on a library whose arrays are
writable that is the same array, updated in place with no temporary the size of
the weights; on one whose arrays are immutable (JAX) it is the new array, and
keeping it is the update (see :mod:`bpnn.update`).  Hyper-parameters are Python
floats, so every product keeps the arrays' dtype on every backend.
"""

from __future__ import annotations

from ..errors import InputError
from ..registry import Configurable, Registry
from ..validation import non_negative_float


class Optimizer(Configurable):
    """Base class.

    Parameters
    ----------
    lr : float
        The learning rate (a mutable attribute, for schedules).
    """

    def __init__(self, lr):
        self.lr = non_negative_float(lr, "lr")
        self._params = None

    def step(self, xp, params, grads):
        """One update of every array of ``params`` from the matching ``grads``.

        Parameters
        ----------
        xp : namespace
            The arrays' standard namespace.
        params : list of arrays
            The parameters; each entry is replaced by its updated array (the same
            array, written in place, where the library allows it).
        grads : list of arrays
            The gradients of the loss (fresh arrays the step may overwrite).
        """
        self.follow(params)
        self.apply(xp, params, grads, self.advance())

    def advance(self):
        """The host half of a step: the numbers this step uses, as Python floats, with
        the step count advanced (Adam's bias correction).

        A step is ``apply(xp, params, grads, advance())``.  Split so, a compiled step
        (JAX) takes the numbers as inputs: a schedule that changes ``lr`` between
        steps, or Adam's count, never makes it compile again.
        """
        return {"lr": self.lr}

    def descent_rate(self):
        """The rate ``s`` when this optimizer's whole step is plain gradient descent,
        ``W <- W - s dW`` for every parameter with no state and nothing else (plain SGD:
        ``lr``); ``None`` otherwise.

        Where nothing stands between the backward pass and the update (one process,
        uncompiled), :class:`~bpnn.steps.TrainStep` then takes that step itself: ``s``
        folded into the backward pass's output delta (one small array, not a pass over
        every gradient) and the results subtracted (:func:`bpnn.update.subtract`),
        without :meth:`advance` or :meth:`apply`.  The numbers agree with
        ``apply`` to rounding.  Read at every step: a schedule may change ``lr``.
        """
        return None

    def apply(self, xp, params, grads, numbers):
        """The array half of a step: update ``params`` (and the optimizer's state
        arrays, made on first use) from ``grads`` with :meth:`advance`'s ``numbers``.
        Array operations only, no host reads, so it may be traced and compiled."""
        raise NotImplementedError

    def follow(self, params):
        """Reset the state when ``params`` are not the arrays it was built for.

        One optimizer object may then serve several networks in turn (on any
        backends) without carrying one network's moments into another's.  The
        training loop calls it before it snapshots the state; :meth:`step` too.
        On a library of immutable arrays the parameters are new arrays after every
        step, so there the list itself (which the training loop keeps) is what is
        followed.
        """
        if params is self._params:
            return
        previous = self._params
        if previous is None or len(previous) != len(params) or any(
                a is not b for a, b in zip(previous, params)):
            self.reset()
        self._params = params

    def reset(self):
        """Forget the optimizer's state (moments, step count)."""

    def state_arrays(self):
        """The live arrays of the state (velocities, moments), empty before the first step."""
        return []

    def state_scalars(self):
        """The numbers of the state besides :meth:`config` (Adam's step count)."""
        return {}

    def load_state(self, params, scalars, arrays):
        """Take a state saved by :meth:`state_scalars` and :meth:`state_arrays` for ``params``.

        ``arrays`` are device arrays that become the optimizer's own; an empty
        list means no state yet.
        """
        self.reset()
        self._params = params
        self._load(scalars, list(arrays))

    def _load(self, scalars, arrays):
        if arrays:
            raise InputError(f"{type(self).__name__} keeps no arrays, got {len(arrays)}")

    def _per_parameter(self, arrays, parts):
        """``arrays`` cut into ``parts`` lists of one array per parameter (in
        :meth:`state_arrays` order, part after part), each shaped like its parameter.

        Raises
        ------
        InputError
            Another count of arrays, or an array whose shape is not its parameter's.
        """
        shapes = [tuple(W.shape) for W in self._params]
        if len(arrays) != parts * len(shapes):
            raise InputError(f"{type(self).__name__} keeps {parts} arrays per parameter "
                             f"({parts * len(shapes)} here), got {len(arrays)}")
        for index, array in enumerate(arrays):
            shape = shapes[index % len(shapes)]
            if tuple(array.shape) != shape:
                raise InputError(f"{type(self).__name__}'s state of parameter "
                                 f"{index % len(shapes)} has shape {tuple(array.shape)}, the "
                                 f"parameter {shape}")
        n = len(shapes)
        return [list(arrays[start:start + n]) for start in range(0, len(arrays), n)]

    @staticmethod
    def _numbered(prefixes, n):
        """State names ``prefix.i`` for each prefix, ``i`` over ``n`` parameters, part after
        part: the names of :meth:`_per_parameter`'s layout."""
        return [f"{prefix}.{i}" for prefix in prefixes for i in range(n)]

    def config(self):
        return {"lr": self.lr}


def unit_interval(value, label):
    """``value`` as a float in ``[0, 1)``, or an :class:`InputError` naming ``label``."""
    if not 0.0 <= float(value) < 1.0:
        raise InputError(f"{label} must be in [0, 1), got {value!r}")
    return float(value)


#: The optimizers :func:`~bpnn.optimizers.get_optimizer` knows by name: ``{name: class}``,
#: open to new ones through :func:`register_optimizer` (a checkpoint names its optimizer
#: by it).
OPTIMIZERS = Registry("optimizer", Optimizer, key=lambda cls: str(cls.name).lower())


def register_optimizer(cls=None, *, name=None):
    """Class decorator: let :func:`~bpnn.optimizers.get_optimizer` (and
    ``fit(optimizer="...")``) find an :class:`Optimizer` subclass by its
    :attr:`~bpnn.registry.Configurable.name` (or ``name``), in lower case as lookups are."""
    return OPTIMIZERS.register(cls, name=name.lower() if isinstance(name, str) else name)
