"""The layer protocol: ``forward(xp, X) -> (Y, backprop)``."""

from __future__ import annotations

from ..registry import Configurable


class Layer(Configurable):
    """Base class of the layers.

    A layer owns a list of parameter arrays, :attr:`params`, named by
    :attr:`param_names`, created by :meth:`build` on one backend in one dtype.
    ``forward(xp, X)`` returns the output ``Y`` and a closure
    ``backprop(dY, need_dX=True) -> (dX, grads)`` where ``grads`` lines up
    with :attr:`params`; the first layer of a network passes
    ``need_dX=False`` and gets ``dX = None``, sparing a matrix product.

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

    n_in = None
    n_out = None

    def __init__(self):
        self.params = []
        self.buffers = []

    @property
    def built(self):
        """Whether :meth:`build` has created the parameters."""
        return len(self.params) == len(self.param_names)

    def build(self, rng, dtype, next_activation=None):
        """Create the parameters from the host random stream ``rng`` in ``dtype``.

        ``next_activation`` is the activation that follows this layer, which
        picks the default weight initializer.
        """

    def forward(self, xp, X):
        """Return ``(Y, backprop)``."""
        raise NotImplementedError

    def param_shapes(self):
        """The shape of every parameter, in :attr:`param_names` order (known before build)."""
        return []

    def buffer_shapes(self):
        """The shape of every buffer, in :attr:`buffer_names` order."""
        return []

    def output_width(self, n_in):
        """The width of ``Y`` for an input of width ``n_in``."""
        return n_in if self.n_out is None else self.n_out
