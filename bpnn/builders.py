"""Build a multi-layer perceptron from its layer sizes, as the seed describes it."""

from __future__ import annotations

from .errors import InputError
from .layers import RBF, Activation, Dense
from .losses import get_loss
from .network import Network


def mlp(layer_sizes, activation="sigmoid", output_activation=None, loss="squared_error", *,
        init=None, backend=None, dtype=None, seed=None):
    """A multi-layer perceptron: ``Dense`` layers with an activation after each.

    Parameters
    ----------
    layer_sizes : sequence of int
        Widths from input to output, e.g. ``[1, 3, 1]`` for the seed's 1-3-1
        network; ``k`` hidden layers for ``k + 2`` sizes.
    activation : str or sequence of str, default "sigmoid"
        The hidden layers' activation, one for all or one per hidden layer.
        ``"rbf"`` makes that hidden layer a layer of Gaussian radial basis
        units (:class:`RBF`), an RBF network.
    output_activation : str, optional
        By default the loss's link: identity for squared error, softmax for
        cross-entropy, sigmoid for binary cross-entropy.
    loss : str or Loss, default "squared_error"
    init : str or Initializer, optional
        Weight initializer of every Dense layer, e.g. ``Normal(0.01)`` (the
        seed's ``0.01 * randn``); by default each picks the one that suits
        its activation.
    backend, dtype, seed
        As for :class:`Network`.

    Returns
    -------
    Network
    """
    sizes = [int(size) for size in layer_sizes]
    if len(sizes) < 2:
        raise InputError(f"layer_sizes needs an input and an output size, got {layer_sizes!r}")
    n_hidden = len(sizes) - 2
    if isinstance(activation, str) or not hasattr(activation, "__len__"):
        activations = [activation] * n_hidden
    else:
        activations = list(activation)
        if len(activations) != n_hidden:
            raise InputError(f"{len(activations)} activations given for {n_hidden} hidden layers")
    loss = get_loss(loss)
    output_activation = loss.link if output_activation is None else output_activation

    layers = []
    for n_in, n_out, name in zip(sizes[:-2], sizes[1:-1], activations):
        if isinstance(name, str) and name.lower() == "rbf":
            layers.append(RBF(n_in, n_out))
        else:
            layers += [Dense(n_in, n_out, init=init), Activation(name)]
    layers.append(Dense(sizes[-2], sizes[-1], init=init))
    if not (isinstance(output_activation, str) and output_activation.lower() in
            ("identity", "linear")):
        layers.append(Activation(output_activation))
    return Network(layers, loss=loss, backend=backend, dtype=dtype, seed=seed)
