"""The network: a chain of layers, a loss, and one backend and dtype."""

from __future__ import annotations

import math

from .activations import Identity
from .backends import FLOAT_DTYPES, get_backend
from .errors import InputError
from .layers import Activation, Layer
from .losses import get_loss, weight_total
from .update import assign
from .validation import as_matrix, dtype_name_of

#: What :meth:`Network.save` and :meth:`Network.fit` call: :func:`bpnn.files.save` and
#: :func:`bpnn.training.fit`.  Both modules import this one (to rebuild networks from
#: files, to train them), so this one imports neither: each registers its function here
#: with :func:`delegate` when it is imported, and ``import bpnn`` imports both.
_DELEGATES = {}


def delegate(name):
    """Register the decorated function as what :meth:`Network.<name>` calls
    (``"save"``, ``"fit"``); the function itself is returned unchanged."""
    def register(function):
        _DELEGATES[name] = function
        return function
    return register


class Network:
    """A feed-forward network trained by backpropagation.

    The layers run in order; the error runs back through them in reverse,
    each layer's ``backprop`` closure turning ``dY`` into ``dX`` and its
    parameter gradients.

    Parameters
    ----------
    layers : sequence of Layer
        E.g. ``[Dense(1, 3), Activation("sigmoid"), Dense(3, 1)]``; see
        :func:`bpnn.mlp` to build one from layer sizes.
    loss : str or Loss, default "squared_error"
        ``"squared_error"`` (the seed's ``1/2 sum (y - t)²``), ``"mse"``,
        ``"cross_entropy"`` or ``"binary_cross_entropy"``.  When the last
        layer is the loss's link activation (identity, softmax, sigmoid) the
        output delta is ``Y - T``.
    backend : str or Backend, optional
        Where to run (see :func:`bpnn.backends.get_backend`).  By default the
        backend of the first non-NumPy array the network sees, else the
        ``BPNN_BACKEND`` environment variable, else ``"auto"``.
    dtype : {"float32", "float64"}, optional
        The one float dtype of the parameters and the computation.  By default
        float32 if the first data seen is float32, else float64.
    seed : int or numpy.random.RandomState, optional
        Seed of the host random stream (NumPy ``PCG64``) that draws the
        initial weights and then the shuffle order: one seed gives the same
        run on every backend.  ``None`` draws fresh entropy.  A
        ``RandomState`` gives scikit-learn's stream, drawn from it in place.

    Attributes
    ----------
    backend : Backend or None
        Set when the network is built (first use).
    parameters : list of arrays
        Every trainable array, layer by layer.
    history : History or None
        The record of the last :meth:`fit`.
    optimizer : Optimizer or None
        The optimizer of the last :meth:`fit` (callbacks change its ``lr``).

    Notes
    -----
    Every public method runs its array work with the backend's device current
    (:meth:`bpnn.backends.Backend.scope`): a network on ``"cupy:1"`` makes every
    array on GPU 1, whichever GPU the caller has current.
    """

    def __init__(self, layers, loss="squared_error", *, backend=None, dtype=None, seed=None):
        self.layers = list(layers)
        if not self.layers:
            raise InputError("a network needs at least one layer")
        for layer in self.layers:
            if not isinstance(layer, Layer):
                raise TypeError(f"expected bpnn layers, got {type(layer).__name__}")
        if dtype is not None and dtype not in FLOAT_DTYPES:
            raise InputError(f"dtype must be one of {FLOAT_DTYPES}, got {dtype!r}")
        self.loss = get_loss(loss)
        self.n_features, self.n_outputs = _check_widths(self.layers)
        self.backend_spec = backend
        self.dtype_name = dtype
        self.seed = seed
        self.backend = None
        self.dtype = None
        self.rng = None
        self.history = None
        self.optimizer = None
        self.divergences = []
        self.stop_training = False
        self.distributed = None  # the MPI ranks during a fit(distributed=True)
        # The output activation is skipped in backward when it is the loss's
        # link: the loss then hands back dL/dZ = Y - T directly.
        last = self.layers[-1]
        if isinstance(last, Activation) and last.name == self.loss.link:
            self._body, self._link = self.layers[:-1], last.function
        elif self.loss.link == "identity" and not isinstance(last, Activation):
            self._body, self._link = self.layers, Identity()
        else:
            self._body, self._link = self.layers, None
        # the training pass's backward chain starts at the first layer with parameters:
        # no gradient is needed below it
        self._first_weighted = next((index for index, layer in enumerate(self._body)
                                     if layer.param_names), len(self._body))

    # -- building -------------------------------------------------------------
    @property
    def built(self):
        """Whether the backend is chosen and the parameters exist."""
        return self.backend is not None

    def build(self, backend=None, dtype=None, like=None, weights=None, buffers=None):
        """Choose the backend and dtype and draw the initial parameters.

        Called by the first :meth:`forward` or :meth:`fit`; call it yourself
        to fix the backend or to see the initial weights.  A built network is
        returned as it is.

        Parameters
        ----------
        backend : str or Backend, optional
            Overrides the constructor's ``backend``.
        dtype : {"float32", "float64"}, optional
            Overrides the constructor's ``dtype``.
        like : array, optional
            Data whose library and dtype decide where they are not given.
        weights : sequence of arrays, optional
            The parameters, in :attr:`parameters` order, instead of random
            ones (how a saved model is loaded); their shapes are checked
            before anything is allocated.
        buffers : sequence of arrays, optional
            With ``weights``: the layers' fixed buffers (a standardization's
            statistics), layer by layer.
        """
        if self.built:
            return self
        shapes = [shape for layer in self.layers for shape in layer.param_shapes()]
        if weights is not None:
            weights = list(weights)
            if len(weights) != len(shapes):
                raise InputError(f"expected {len(shapes)} parameter arrays, got {len(weights)}")
            for index, (shape, array) in enumerate(zip(shapes, weights)):
                if tuple(array.shape) != shape:
                    raise InputError(f"parameter {index} must have shape {shape}, got "
                                     f"{tuple(array.shape)}")
        spec = backend if backend is not None else self.backend_spec
        chosen = get_backend(spec, like=like)
        name = dtype or self.dtype_name
        if name is None:
            name = "float32" if dtype_name_of(like) == "float32" else "float64"
        if name not in FLOAT_DTYPES:
            raise InputError(f"dtype must be one of {FLOAT_DTYPES}, got {name!r}")
        self.backend = chosen
        self.dtype_name = name
        self.dtype = self.backend.dtype(name)
        self.rng = self.backend.random(self.seed)
        with self.backend.scope():  # every array below is made on the backend's device
            if weights is not None:
                arrays, fixed = iter(weights), iter(buffers or [])

                def own(array):  # a copy: the network's arrays are its own, and writable
                    return self.backend.asarray(array, dtype=self.dtype, copy=True)

                for layer in self.layers:
                    layer.params = [own(next(arrays)) for _ in layer.param_names]
                    if layer.buffer_names:
                        layer.buffers = [own(next(fixed)) for _ in layer.buffer_names]
                return self
            for index, layer in enumerate(self.layers):
                following = self.layers[index + 1] if index + 1 < len(self.layers) else None
                activation = following.function if isinstance(following, Activation) \
                    else Identity()
                layer.build(self.rng, self.dtype, next_activation=activation)
        return self

    def _scope(self, like=None):
        """The context of a public call: the network built (on ``like``'s backend when it
        is not built yet) and its backend's device current, its warnings silent
        (:meth:`~bpnn.backends.Backend.scope`).

        Convention: every public method that makes or computes arrays runs its work
        inside it, once, at its outermost call; what it calls may enter it again.
        """
        return self.build(like=like).backend.scope()

    @property
    def xp(self):
        """The Array API namespace of the backend (builds the network)."""
        return self.build().backend.xp

    # -- parameters -----------------------------------------------------------
    @property
    def parameters(self):
        """Every trainable array, in layer order (the live buffers, not copies)."""
        self.build()
        return [param for layer in self.layers for param in layer.params]

    def get_weights(self):
        """Copies of every parameter as NumPy arrays, in :attr:`parameters` order."""
        with self._scope():
            return [self.backend.to_numpy(param, copy=True) for param in self.parameters]

    def set_weights(self, weights):
        """Copy ``weights`` (arrays in :attr:`parameters` order) into the parameters.

        The copy is made in place where the library allows it, so the arrays stay
        the network's own (see :mod:`bpnn.update`).

        Raises
        ------
        ValueError
            When the count or a shape does not match :attr:`parameters`.
        """
        current = self.parameters
        weights = list(weights)
        if len(weights) != len(current):
            raise InputError(f"expected {len(current)} arrays, got {len(weights)}")
        with self._scope():
            xp = self.backend.xp
            incoming = [self.backend.asarray(new, dtype=self.dtype) for new in weights]
            for index, (old, new) in enumerate(zip(current, incoming)):
                if tuple(new.shape) != tuple(old.shape):
                    raise InputError(f"parameter {index} has shape {tuple(old.shape)}, "
                                     f"got {tuple(new.shape)}")
            self.adopt_parameters([assign(xp, old, new) for old, new in zip(current, incoming)])

    def copy_parameters(self, out=None):
        """Copies of every parameter on the backend's device, in :attr:`parameters` order.

        With ``out`` (an earlier result of this method) the copies are written
        into those buffers in place and ``out`` is returned: a training loop
        that saves the weights every epoch then allocates nothing.  Unlike
        :meth:`get_weights` the arrays stay on the device.
        """
        params = self.parameters
        with self._scope():  # a copy is made on the current device (CuPy)
            xp = self.backend.xp
            if out is None:
                return [xp.asarray(param, copy=True) for param in params]
            out[:] = [assign(xp, saved, param) for saved, param in zip(out, params)]
        return out

    def restore_parameters(self, saved):
        """Write a :meth:`copy_parameters` result back into the parameters, in place
        where the library allows it."""
        with self._scope():
            xp = self.backend.xp
            self.adopt_parameters([assign(xp, param, value)
                                   for param, value in zip(self.parameters, saved)])

    def adopt_parameters(self, params):
        """Make ``params`` (arrays in :attr:`parameters` order) the layers' parameters.

        Where the library's arrays are immutable an update makes new arrays, and
        this is where they join the network; where they are written in place,
        ``params`` are the layers' own arrays and this changes nothing.
        """
        arrays = iter(params)
        for layer in self.layers:
            if layer.params:
                layer.params[:] = [next(arrays) for _ in layer.params]

    def count_params(self):
        """The number of trainable scalars."""
        return sum(math.prod(param.shape) for param in self.parameters)

    # -- data -----------------------------------------------------------------
    def _inputs(self, X):
        self.build(like=X)
        return as_matrix(self.backend, X, self.dtype, name="X", n_columns=self.n_features)

    def _data(self, X, T):
        """Validated ``(X, T)`` on the backend, in the network's dtype."""
        X = self._inputs(X)
        hint = "give one-hot rows, one column per class" if self.loss.link == "softmax" else None
        T = as_matrix(self.backend, T, self.dtype, name="T", n_rows=X.shape[0],
                      n_columns=self.n_outputs, allow_vector=True, columns_hint=hint)
        return X, T

    # -- forward and backward ---------------------------------------------------
    def forward(self, X):
        """The network's output ``Y`` for inputs ``X`` (no gradients kept; an inference
        pass: :class:`~bpnn.layers.Dropout` is the identity).

        Parameters
        ----------
        X : array_like, shape (n_samples, n_features)

        Returns
        -------
        array, shape (n_samples, n_outputs)
            In the backend's namespace and the network's dtype.
        """
        with self._scope(X):
            return run_layers(self.layers, self.backend.xp, self._inputs(X))

    predict = forward

    def forward_train(self, X):
        """``(Y, backprop)``: the output and a closure ``backprop(dY) -> (dX, grads)``.

        ``grads`` lines up with :attr:`parameters`.  This is the raw chain of
        layer closures, with no loss; :meth:`backward` adds the loss.  It is a
        training pass: a :class:`~bpnn.layers.Dropout` layer draws its mask from
        the network's random stream.
        """
        with self._scope(X):
            backprops = []
            X = run_layers(self.layers, self.backend.xp, self._inputs(X), training=True,
                           rng=self.rng, backprops=backprops)

        def backprop(dY):  # called later, maybe outside any scope: it enters its own
            with self.backend.scope():
                return _backprop_chain(backprops, dY, need_input_gradient=True)

        return X, backprop

    def backward(self, X, T, l2=0.0):
        """One forward and backward pass: the loss and its gradient.

        A training pass, as a step of :meth:`fit` takes it: a
        :class:`~bpnn.layers.Dropout` layer draws its mask from the network's stream.

        Parameters
        ----------
        X : array_like, shape (n_samples, n_features)
        T : array_like, shape (n_samples, n_outputs) or (n_samples,)
            Targets (one-hot rows for cross-entropy).
        l2 : float, default 0.0
            L2 penalty: adds ``l2/2 * sum W²`` over the weights (not biases).

        Returns
        -------
        loss : float
            The mean loss over the samples, penalty included.
        grads : list of arrays
            ``dL/dP`` for every array ``P`` of :attr:`parameters`.
        """
        with self._scope(X):
            X, T = self._data(X, T)
            loss, grads = self.loss_and_gradients(self.backend.xp, X, T, l2=float(l2))
            return float(loss), grads

    def loss_and_gradients(self, xp, X, T, *, l2=0.0, w=None, l2_shared=False, scale=1.0,
                           rng=None):
        """The training step's math on validated device arrays; ``loss`` stays a 0-d array.

        ``w`` is an (n, 1) column of sample weights or ``None``; ``l2_shared``
        divides the penalty by the batch's total weight (see :func:`bpnn.training.fit`).
        The gradients are those of ``scale`` times the loss, ``scale`` folded into the
        output delta (one small array); the returned loss is not scaled.  It weighs
        this batch in a larger sum (a rank's share of a global batch, see
        :mod:`bpnn.distributed`), or carries plain SGD's learning rate where nothing
        stands between this pass and the update (see :class:`bpnn.steps.TrainStep`).
        A training pass: random layers draw from ``rng``, by default :attr:`rng`.
        """
        backprops = []
        # positional: keyword binding is a measurable share of a small network's step
        X = run_layers(self._body, xp, X, True, self.rng if rng is None else rng, backprops)
        loss, dY = self._output_loss_and_delta(xp, X, T, w, scale)
        _, grads = _backprop_chain(backprops, dY, False, self._first_weighted)
        if l2:
            l2 = _penalty_weight(xp, l2, T, w, l2_shared)
            for index, W in self._penalized():
                grads[index] += (scale * l2) * W  # d(l2/2 W²)/dW; grads are fresh buffers
            loss = loss + self._l2_penalty(xp, l2)
        return loss, grads

    def _output_loss_and_delta(self, xp, Z, T, w=None, scale=1.0):
        """The mean loss and ``scale dL/dZ`` for the output ``Z`` of :attr:`_body`.

        With the loss's link as the output activation, ``Z`` is the
        pre-activation and ``dL/dZ = (Y - T) / n``.
        """
        if self._link is not None:
            return self.loss.value_and_delta(xp, Z, T, w, scale)
        return self.loss.value(xp, Z, T, w), self.loss.gradient(xp, Z, T, w, scale)

    def _penalized(self):
        """``(index in parameters, array)`` of every weight under the L2 penalty."""
        index = 0
        for layer in self.layers:
            for name, param in zip(layer.param_names, layer.params):
                if name in layer.penalized:
                    yield index, param
                index += 1

    def _l2_penalty(self, xp, l2):
        """``l2/2 sum W²`` over the penalized weights.

        Row by row with ``vecdot``: no temporary the size of ``W`` every step
        (2.6x faster than ``sum(W * W)`` for a 784 x 256 float32 ``W`` in NumPy).
        """
        return 0.5 * l2 * sum(xp.sum(xp.vecdot(W, W)) for _, W in self._penalized())

    def evaluate(self, X, T, l2=0.0):
        """The mean loss over ``(X, T)`` as a float (penalty included when ``l2`` > 0)."""
        with self._scope(X):
            X, T = self._data(X, T)
            return float(self.loss_value(self.backend.xp, X, T, l2=l2))

    def loss_value(self, xp, X, T, *, l2=0.0, w=None, l2_shared=False):
        """The loss on validated device arrays, without the backward pass (an inference
        pass: dropout is the identity)."""
        X = run_layers(self._body, xp, X)
        loss = self._output_loss_and_delta(xp, X, T, w)[0]  # the stable value from the link's input
        if l2:
            loss = loss + self._l2_penalty(xp, _penalty_weight(xp, l2, T, w, l2_shared))
        return loss

    # -- files ------------------------------------------------------------------
    def save(self, path):
        """Save the architecture, loss, dtype and weights to ``path`` (see :mod:`bpnn.files`).

        The file is pickle-free, opens on any backend with :func:`bpnn.load`,
        and is written atomically.
        """
        _DELEGATES["save"](self, path)

    def to_onnx(self, path=None, *, input_name="X", opset=None):
        """The network's forward pass as an ONNX model (see :mod:`bpnn.export`).

        Built by running the layers' own ``forward`` on ndonnx arrays: input
        ``input_name`` of shape ``(N, n_features)`` in the network's dtype, output
        ``"Y"`` of shape ``(N, n_outputs)``, ``N`` symbolic.  Needs the ``onnx``
        extra (``pip install 'bpnn[onnx]'``).

        Parameters
        ----------
        path : str or path-like, optional
            Also write the model there (atomically).
        input_name : str, default "X"
        opset : int, optional
            The ONNX opset of the default domain; by default ndonnx's.

        Returns
        -------
        onnx.ModelProto
        """
        return _DELEGATES["to_onnx"](self, path, input_name=input_name, opset=opset)

    # -- training ---------------------------------------------------------------
    def fit(self, X, T, **options):
        """Train by gradient descent; see :func:`bpnn.training.fit` for the options.

        Returns
        -------
        History
        """
        return _DELEGATES["fit"](self, X, T, **options)

    def __getstate__(self):
        # compiled training steps (JAX) belong to this process: a copy compiles its own
        state = dict(self.__dict__)
        state.pop("_compiled_steps", None)
        return state

    def __repr__(self):
        layers = ", ".join(repr(layer) for layer in self.layers)
        where = f", backend={self.backend.name!r}, dtype={self.dtype_name!r}" if self.built else ""
        return f"Network([{layers}], loss={self.loss.name!r}{where})"


def _penalty_weight(xp, l2, T, w, shared):
    """The factor of ``1/2 sum W²`` added to the mean loss: ``l2``, or, shared by the
    batch's samples (scikit-learn's ``alpha``), ``l2`` over their total weight, and 0
    for a batch whose weights are all zero (it makes no update; ``l2 / 0`` would be inf)."""
    if not shared:
        return l2
    if w is None:
        return l2 / T.shape[0]
    total = xp.sum(w)
    # l2 [sum w > 0] / max-safe(sum w): the indicator zeroes the empty batch's share
    return l2 * xp.astype(total > 0, total.dtype) / weight_total(xp, w)


def run_layers(layers, xp, X, training=False, rng=None, backprops=None):
    """The forward loop of every pass: ``X`` through ``layers`` in order, returning ``Y``.

    Parameters
    ----------
    layers : sequence of Layer
    xp : namespace
    X : array
    training : bool, default False
        A training pass (layers such as Dropout act); ``rng`` is then the run's stream.
    rng : HostRandom, optional
    backprops : list, optional
        Receives each layer's ``backprop`` closure, in order.
    """
    if backprops is None:
        for layer in layers:
            X, _ = layer.forward(xp, X, training=training, rng=rng)
        return X
    for layer in layers:
        X, backprop = layer.forward(xp, X, training=training, rng=rng)
        backprops.append(backprop)
    return X


def _backprop_chain(backprops, dY, need_input_gradient, first=0):
    """Run layer closures from last to ``first``: ``(dX, grads)`` with grads in layer order.

    Without ``need_input_gradient`` closure ``first`` returns no ``dX`` (one
    matrix product fewer) and neither does this function; the closures below it
    are not run (the training step's saving: no gradient is needed below the
    first layer with parameters).
    """
    grads = []
    for index in range(len(backprops) - 1, first - 1, -1):
        dY, layer_grads = backprops[index](dY, need_input_gradient or index > first)  # need_dX
        grads[:0] = layer_grads  # in front: the layers below come later
    return dY, grads


def _check_widths(layers):
    """``(n_features, n_outputs)`` after checking each layer's input matches the one below."""
    n_features = None
    width = None
    for index, layer in enumerate(layers):
        if layer.n_in is not None:
            if width is not None and layer.n_in != width:
                raise InputError(f"layer {index} ({layer!r}) takes {layer.n_in} inputs but the "
                                 f"layer below gives {width}")
            if n_features is None:
                n_features = layer.n_in
            width = layer.n_in
        width = layer.output_width(width)
    if n_features is None:
        raise InputError("the network has no layer with a known input width (add a Dense layer)")
    return n_features, width
