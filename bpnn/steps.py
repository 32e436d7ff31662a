"""One training step on one batch: shared by the training loop and the divergence replay,
so a replayed step is bit for bit the step that was taken."""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict

from .caller import warn
from .update import subtract, writable

#: Compiled steps shared by the networks of one structure (see :func:`_compiled`): the
#: fits of a grid search, the folds of a cross-validation, a refit, compile once per
#: batch shape, not once per network.  The least recently used goes past the limit.
_SHARED = OrderedDict()
_SHARED_LIMIT = 32
#: Held while a step is traced: a trace borrows its template's network and optimizer.
_TRACING = threading.Lock()


def clear_compiled():
    """Forget every compiled step shared between networks (the next fit traces anew)."""
    _SHARED.clear()


class TrainStep:
    """A run's training step: the loss of a batch, then one update of the parameters.

    ``step(xp, params, arrays)`` takes the batch ``arrays`` (``(X, T)`` or
    ``(X, T, w)``) and updates ``params`` (``network.parameters``, fetched once by
    the caller); it returns the batch's mean loss before the update, on the
    device.  Everything between the backward pass and the update (the MPI sum here)
    sees gradients that mean gradients.  Where nothing stands between them (one
    process, uncompiled), an optimizer whose step is plain gradient descent (plain
    SGD, :meth:`~bpnn.optimizers.Optimizer.descent_rate`) has its rate folded into
    the output delta instead, one small array rather than a pass over every
    gradient, and the step subtracts the results itself: a detail between the
    optimizer and this step, which a feature placed between backward and update
    turns off here, in one place.

    Where the backend compiles (:meth:`~bpnn.backends.Backend.compile`: JAX), the
    same code is traced once per batch shape into one compiled function of the
    parameters, the optimizer's state arrays, the step's numbers
    (:meth:`~bpnn.optimizers.Optimizer.advance`) and the batch.

    With ``distributed`` (a :class:`~bpnn.distributed.Distributed`), ``arrays``
    is ``(X, T, None, N)``: this rank's piece of a global batch of ``N`` rows
    (see :meth:`~bpnn.distributed.Distributed.loss_and_gradients`); such a step
    is never compiled (it calls MPI); neither is a step of a network with a
    stochastic layer (Dropout: its masks come from the run's host stream, drawn at
    every step, which a compiled step would draw once).

    Parameters
    ----------
    network : Network
    optimizer : Optimizer
    l2 : float, keyword-only
        The L2 penalty (see :func:`bpnn.training.fit`).
    l2_shared : bool, keyword-only
    distributed : Distributed or None, keyword-only
    """

    def __init__(self, network, optimizer, *, l2=0.0, l2_shared=False, distributed=None):
        self.network, self.optimizer = network, optimizer
        self.l2, self.l2_shared, self.distributed = l2, l2_shared, distributed
        # a stochastic layer (Dropout) draws its masks from the host stream at every
        # step: traced, it would draw once; such a network runs its step as it is
        stochastic = any(layer.stochastic for layer in network.layers)
        self.compiled = None if distributed is not None or stochastic else _compiled(self)
        self.writable = writable(network.backend.xp)

    def __call__(self, xp, params, arrays):
        if self.compiled is None and self.distributed is None:
            # nothing stands between the backward pass and the update (one process,
            # uncompiled): plain gradient descent is taken here, its rate folded into
            # the output delta, the gradients then subtracted as they come
            rate = self.optimizer.descent_rate()
            if rate is not None:
                loss, grads = self.network.loss_and_gradients(
                    xp, arrays[0], arrays[1], l2=self.l2, l2_shared=self.l2_shared, scale=rate,
                    w=arrays[2] if len(arrays) > 2 else None)
                subtract(xp, params, grads)  # W <- W - rate dW
                if not self.writable:  # immutable arrays: the new ones, to the layers
                    self.network.adopt_parameters(params)
                return loss
        optimizer, network = self.optimizer, self.network
        optimizer.follow(params)
        numbers = optimizer.advance()
        if self.compiled is not None:
            try:
                new, state, loss = self.compiled(params, optimizer.state_arrays(), numbers,
                                                 tuple(arrays))
            except Exception as error:  # noqa: BLE001 - a step the compiler cannot trace
                self._give_up_compiling(error)  # runs as it is, below (or fails there)
            else:
                params[:] = new
                network.adopt_parameters(params)
                optimizer.load_state(params, optimizer.state_scalars(), state)
                return loss
        loss, grads = self._loss_and_gradients(xp, arrays)
        optimizer.apply(xp, params, grads, numbers)
        if not self.writable:  # immutable arrays: the updated ones are new; to the layers
            network.adopt_parameters(params)
        return loss

    def _give_up_compiling(self, error):
        """Run this kind of step uncompiled from now on, and say so once.

        A layer may use what a traced value lacks (``X.device`` under ``jax.jit``); the
        step then runs as written, which gives the same numbers, slower.  A true error
        in the step raises again there, uncompiled, with its own traceback.
        """
        self.compiled = None
        self.network._compiled_steps[self._kind] = None
        if self._shared_key is not None:  # no network of this structure compiles it
            _SHARED[self._shared_key] = None
        warn(f"the training step could not be compiled ({type(error).__name__}: {error}); "
             "it runs uncompiled", RuntimeWarning)

    def _loss_and_gradients(self, xp, arrays):
        """The batch's loss and gradients, on this rank or summed over the ranks of a
        distributed run (every step but plain gradient descent in one process, which
        :meth:`__call__` takes with its rate folded in)."""
        if self.distributed is None:
            w = arrays[2] if len(arrays) > 2 else None
            return self.network.loss_and_gradients(xp, arrays[0], arrays[1], l2=self.l2, w=w,
                                                   l2_shared=self.l2_shared)
        return self.distributed.loss_and_gradients(self.network, xp, arrays[0], arrays[1],
                                                   arrays[3], l2=self.l2,
                                                   l2_shared=self.l2_shared)

    def _template(self):
        """A step of the same structure on copies that no one else holds: the network's
        layers without their parameters (buffers kept: they are constants of the
        step), the optimizer without state.  A compiler traces :meth:`_pure` on it."""
        network = copy.copy(self.network)
        network.layers = []
        for layer in self.network.layers:
            layer = copy.copy(layer)
            layer.params = [None] * len(layer.params)
            network.layers.append(layer)
        network._body = network.layers[:len(self.network._body)]
        network.history = network.optimizer = network.distributed = None
        network.__dict__.pop("_compiled_steps", None)
        optimizer = copy.copy(self.optimizer)
        optimizer.reset()
        optimizer._params = None
        template = copy.copy(self)
        template.network, template.optimizer, template.compiled = network, optimizer, None
        return template

    def _pure(self, params, state, numbers, arrays):
        """The step as a function of its inputs alone, for a compiler to trace (on a
        :meth:`_template`: no live network holds a traced value)."""
        network, optimizer, xp = self.network, self.optimizer, self.network.backend.xp
        with _TRACING:
            params = list(params)
            network.adopt_parameters(params)
            optimizer.load_state(params, optimizer.state_scalars(), list(state))
            loss, grads = self._loss_and_gradients(xp, arrays)
            optimizer.apply(xp, params, grads, numbers)
            result = params, optimizer.state_arrays(), loss
            network.adopt_parameters([None] * len(params))  # no tracer kept past the trace
            optimizer.reset()
            return result


def _compiled(step):
    """The backend's compiled form of :meth:`TrainStep._pure` for ``step``'s kind of
    step, or ``None`` where the backend does not compile.

    A run of the same kind on the same network (an optimizer of the same class and
    configuration but its learning rate, the same penalty) reuses it from the
    network: ``partial_fit`` calls compile once per batch shape.  So does a run on
    another network of the same structure (:func:`_structure`): the compiled code
    reads nothing of a network but its arrays, which are its inputs, and what the
    key holds.
    """
    network, optimizer = step.network, step.optimizer
    if not network.backend.compiles:
        # nothing to prepare: the template's copies would also read the live objects'
        # ``__dict__``, which leaves CPython's attribute reads on them slower for good
        # (about 2% of a small network's step)
        return None
    cache = getattr(network, "_compiled_steps", None)
    if cache is None:
        cache = network._compiled_steps = {}
    structure = tuple(sorted((key, repr(value)) for key, value in optimizer.config().items()
                             if key != "lr"))
    kind = (type(optimizer), structure, step.l2, step.l2_shared)
    step._kind = kind  # the entries to drop should this kind of step not compile
    shape = _structure(network)
    step._shared_key = None if shape is None else (shape, kind)
    if kind not in cache:
        if step._shared_key in _SHARED:
            _SHARED.move_to_end(step._shared_key)
            cache[kind] = _SHARED[step._shared_key]
        else:
            cache[kind] = network.backend.compile(step._template()._pure)
            if step._shared_key is not None and cache[kind] is not None:
                _SHARED[step._shared_key] = cache[kind]
                while len(_SHARED) > _SHARED_LIMIT:
                    _SHARED.popitem(last=False)
    return cache[kind]


def _structure(network):
    """What a traced step reads from ``network`` besides its arrays, as a key, or
    ``None`` where a layer cannot say (:meth:`~bpnn.layers.Layer.trace_key`)."""
    layers = [layer.trace_key() for layer in network.layers]
    if None in layers:
        return None
    backend = network.backend
    return (tuple(layers), type(network.loss), repr(network.loss.config()),
            network.dtype_name, backend.name, str(getattr(backend, "device", "")))
