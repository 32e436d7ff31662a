"""The layer protocol, ``forward(xp, X, *, training, rng) -> (Y, backprop)``, and the
open registry of layer types that model files may name."""

from __future__ import annotations

from ..config_types import check_spec
from ..registry import Configurable, Registry


class Layer(Configurable):
    """Base class of the layers.

    A layer owns a list of parameter arrays, :attr:`params`, named by
    :attr:`param_names`, created by :meth:`build` on one backend in one dtype.
    ``forward(xp, X, *, training=False, rng=None)`` returns the output ``Y`` and
    a closure ``backprop(dY, need_dX=True) -> (dX, grads)`` where ``grads``
    lines up with :attr:`params`; the first layer of a network passes
    ``need_dX=False`` and gets ``dX = None``, sparing a matrix product.

    ``training`` is true in a training step (:meth:`Network.forward_train
    <bpnn.Network.forward_train>`, the step of ``fit``) and false for
    predictions, evaluations and diagnostics; a layer that acts differently in
    training (:class:`~bpnn.layers.Dropout`) draws its random numbers from
    ``rng``, the run's seeded host stream, so one seed gives the same run on
    every backend and a checkpoint (which saves the stream) resumes it exactly.

    A layer type that model files may hold joins :data:`LAYERS` with
    :func:`register_layer` and declares :attr:`config_types`.

    Attributes
    ----------
    n_in, n_out : int or None
        Input and output widths (``None`` where the layer keeps the width).
    params : list of arrays
        The trainable parameters, in the order of :attr:`param_names`.
    """

    param_names: tuple = ()
    #: The parameters an L2 penalty applies to (weights, not biases).
    penalized: tuple = ()
    #: Arrays saved with the model but never trained (a standardization's statistics).
    buffer_names: tuple = ()
    #: The constructor's keyword arguments a model file stores, each with its type
    #: (see :mod:`bpnn.config_types`); :meth:`config` returns at least these keys.
    config_types: dict = {}
    #: Whether ``forward`` draws random numbers in training (then the training loss
    #: is a random function of the weights, which L-BFGS cannot minimize).
    stochastic = False
    #: Whether ``forward`` depends on nothing but the layer's type, :meth:`config` and
    #: parameters (see :meth:`trace_key`).  A layer that reads anything else (a Python
    #: attribute outside its config, buffers) leaves it ``False``.
    traced_by_config = False

    n_in = None
    n_out = None

    def __init__(self):
        self.params = []
        self.buffers = []

    @classmethod
    def config_schema(cls, config):
        """The types of the fields of ``config`` (a layer's saved config); by default
        :attr:`config_types`, whatever ``config`` holds."""
        return cls.config_types

    @property
    def built(self):
        """Whether :meth:`build` has created the parameters."""
        return len(self.params) == len(self.param_names)

    def build(self, rng, dtype, next_activation=None):
        """Create the parameters from the host random stream ``rng`` in ``dtype``.

        ``next_activation`` is the activation that follows this layer, which
        picks the default weight initializer.
        """

    def forward(self, xp, X, *, training=False, rng=None):
        """Return ``(Y, backprop)``.

        Parameters
        ----------
        xp : namespace
            The Array API namespace of ``X``.
        X : array, shape (n_samples, n_in)
        training : bool, default False
            Whether this pass is a training step.
        rng : HostRandom, optional
            The run's seeded host random stream, given with ``training=True``.
        """
        raise NotImplementedError

    def trace_key(self):
        """What a compiled training step reads of this layer besides its parameters, as
        a hashable key: networks whose layers give equal keys share one compiled step
        (JAX), compiled once for all of them.  ``None`` (no sharing) unless the layer
        declares :attr:`traced_by_config`, and for a layer with buffers."""
        if not self.traced_by_config or self.buffers:
            return None
        return (type(self), repr(self.config()),
                tuple(tuple(shape) for shape in self.param_shapes()))

    def param_shapes(self):
        """The shape of every parameter, in :attr:`param_names` order (known before build)."""
        return []

    def buffer_shapes(self):
        """The shape of every buffer, in :attr:`buffer_names` order."""
        return []

    def output_width(self, n_in):
        """The width of ``Y`` for an input of width ``n_in``."""
        return n_in if self.n_out is None else self.n_out


class _LayerRegistry(Registry):
    def _check(self, cls, key):
        if not isinstance(cls.config_types, dict):
            raise TypeError(f"{cls.__qualname__}.config_types must be a dict")
        for field, spec in cls.config_types.items():
            check_spec(spec, f"{cls.__qualname__}.config_types[{field!r}]")


#: The layer types a model file may name: ``{type name: Layer subclass}``.
LAYERS = _LayerRegistry("layer", Layer, key=lambda cls: cls.__name__)


def register_layer(cls=None, *, name=None):
    """Class decorator: let model files hold layers of this type.

    The file stores the type's name (by default the class name) and the fields
    of :attr:`Layer.config_types`, read back through :data:`LAYERS` only.

    Examples
    --------
    >>> from bpnn.layers import Layer, register_layer
    >>> @register_layer
    ... class ScaleBy(Layer):
    ...     config_types = {"factor": float}
    ...     def __init__(self, factor):
    ...         super().__init__()
    ...         self.factor = factor
    ...     def forward(self, xp, X, *, training=False, rng=None):
    ...         return self.factor * X, lambda dY, need_dX=True: (self.factor * dY, ())
    ...     def config(self):
    ...         return {"factor": self.factor}
    >>> LAYERS["ScaleBy"] is ScaleBy
    True
    >>> del LAYERS["ScaleBy"]
    """
    return LAYERS.register(cls, name=name)


def device_of(X):
    """The device of the array ``X``, for the arrays a layer makes beside it
    (``xp.asarray(values, dtype=X.dtype, device=device_of(X))``).

    ``X.device`` itself, except for a value a compiler is tracing (JAX's ``jax.jit``
    compiles bpnn's training step), which has no device yet: then ``None``, the
    default device, where the compiled computation places its constants anyway.
    """
    try:
        return X.device
    except AttributeError:
        return None
