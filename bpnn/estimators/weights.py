"""``coefs_`` and ``intercepts_``: the network's parameters as scikit-learn's two lists.

In scikit-learn they are plain lists that users read and also set: custom
initial weights, then ``partial_fit`` or a ``warm_start`` fit from them.  Here
the arrays live in the estimator's :class:`bpnn.Network`, so:

* reading gives a :class:`LayerArrays`, a list of the network's own arrays
  whose item assignment writes into the network (in place where the library
  allows it, on every backend);
* assigning a whole list keeps that list (so its items may still be set, as
  scikit-learn's tests do) until the estimator next uses its network: then
  :func:`adopt` copies it into the parameters, shapes checked, or a network
  not built yet is built from it.

scikit-learn's flat vector of L-BFGS packs every ``coefs_`` entry, then every
``intercepts_`` entry (:func:`pack`, :func:`unpack`).
"""

from __future__ import annotations

import math

import numpy as np

from ..divergence import all_finite as _finite
from ..update import assign

#: The index of a layer's weights and of its biases in ``layer.params``.
COEFS, INTERCEPTS = 0, 1
NAMES = {COEFS: "coefs_", INTERCEPTS: "intercepts_"}


def trained_layers(network):
    """The layers with parameters, in order (one entry of coefs_ and intercepts_ each)."""
    return [layer for layer in network.layers if layer.param_shapes()]


class LayerArrays(list):
    """The network's weights (or biases) of each layer; setting an item writes the new
    values into the network's array, shape and dtype kept."""

    def __init__(self, network, kind):
        super().__init__(layer.params[kind] for layer in trained_layers(network))
        self._network, self._kind = network, kind

    def __setitem__(self, index, value):
        if isinstance(index, slice):
            raise TypeError(f"set the arrays of {NAMES[self._kind]} one at a time")
        layer = trained_layers(self._network)[index]
        new = write(self._network, layer, self._kind, value, f"{NAMES[self._kind]}[{index}]")
        super().__setitem__(index, new)

    def __reduce__(self):  # a copy (pickle, deepcopy) is a plain list of the arrays
        return list, (list(self),)


def write(network, layer, kind, value, label):
    """Copy ``value`` into ``layer.params[kind]`` (in place where the library allows it);
    returns the parameter's array."""
    backend = network.backend
    with backend.scope():
        current = layer.params[kind]
        new = backend.asarray(np.asarray(value) if not backend.owns(value) else value,
                              dtype=network.dtype)
        if tuple(new.shape) != tuple(current.shape):
            raise ValueError(f"{label} must have shape {tuple(current.shape)}, got "
                             f"{tuple(new.shape)}")
        layer.params[kind] = assign(backend.xp, current, new)
        return layer.params[kind]


def check_shapes(layers, coefs, intercepts):
    """Refuse lists that do not fit ``layers`` (a network not built yet), naming the
    entry; returns the arrays in the network's parameter order."""
    for kind, arrays in ((COEFS, coefs), (INTERCEPTS, intercepts)):
        _one_per_layer(kind, arrays, layers)
    weights = []
    for index, layer in enumerate(layers):
        for kind, arrays in ((COEFS, coefs), (INTERCEPTS, intercepts)):
            shape = layer.param_shapes()[kind]
            found = tuple(np.shape(arrays[index]))
            if found != tuple(shape):
                raise ValueError(f"{NAMES[kind]}[{index}] must have shape {tuple(shape)}, "
                                 f"got {found}")
            weights.append(arrays[index])
    return weights


def adopt(network, coefs, intercepts):
    """Copy assigned lists (either may be ``None``) into a built network."""
    layers = trained_layers(network)
    for kind, arrays in ((COEFS, coefs), (INTERCEPTS, intercepts)):
        if arrays is None:
            continue
        _one_per_layer(kind, arrays, layers)
        for index, (layer, value) in enumerate(zip(layers, arrays)):
            write(network, layer, kind, value, f"{NAMES[kind]}[{index}]")


def _one_per_layer(kind, arrays, layers):
    """Refuse a ``coefs_`` or ``intercepts_`` list whose length is not the layers'."""
    if len(arrays) != len(layers):
        raise ValueError(f"{NAMES[kind]} must hold one array per layer ({len(layers)}); "
                         f"got {len(arrays)}")


def pack(network, arrays):
    """scikit-learn's flat float64 vector of per-layer ``arrays`` (``[W0, b0, W1, b1...]``,
    the network's parameter order): every weight matrix, then every bias vector."""
    to_numpy = network.backend.to_numpy
    ordered = arrays[COEFS::2] + arrays[INTERCEPTS::2]
    return np.concatenate([np.ravel(to_numpy(array)) for array in ordered]).astype(np.float64)


def unpack(network, flat):
    """Write scikit-learn's flat vector into the network's parameters
    (:meth:`bpnn.Network.set_weights`: in place where the library allows it)."""
    shapes = [tuple(param.shape) for param in network.parameters]
    ordered = shapes[COEFS::2] + shapes[INTERCEPTS::2]  # pack's order
    pieces, start = [], 0
    for shape in ordered:
        size = math.prod(shape)
        pieces.append(np.reshape(flat[start:start + size], shape))
        start += size
    n = len(shapes) // 2
    network.set_weights([piece for pair in zip(pieces[:n], pieces[n:]) for piece in pair])


def all_finite(network):
    """Whether every parameter of the network is finite (one device sync)."""
    return _finite(network.backend.xp, network.parameters)
