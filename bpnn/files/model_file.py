"""Saving and loading networks: the config from bpnn's registries, the arrays by name.

A network's config names only what bpnn's own registries hold: layer types
(``Dense``, ``RBF``, ``Activation``), activation and loss names, and numbers.
The loader rebuilds the network from those registries (never from an import
path), checks every array's shape against the config before anything is
allocated on a device, and copies the arrays in: the predictions of the
loaded network are bit-identical to the saved one's.
"""

from __future__ import annotations

import math

from .._version import __version__
from ..errors import InputError
from ..layers import RBF, Activation, Dense, Standardize
from ..losses import get_loss
from ..network import Network, delegate
from .container import MAX_FILE_BYTES, ModelFileError, encode, read, write_atomic
from .schema import MAX_INT, finite_arrays, integer, shown

#: The layer types a file may name, with the config keys each takes.
LAYER_TYPES = {
    "Dense": (Dense, {"n_in": int, "n_out": int}),
    "RBF": (RBF, {"n_in": int, "n_centres": int, "centre_range": float, "width": float}),
    "Activation": (Activation, None),  # "activation" (a name) and float hyper-parameters
    "Standardize": (Standardize, {"n_features": int}),
}
#: The widest layer a file may declare.
MAX_WIDTH = 2 ** 31
_ARRAY_DTYPES = {"float32": "float32", "float64": "float64"}


def network_config(network):
    """The JSON-able description of ``network``'s architecture, loss, dtype and seed."""
    layers = []
    for layer in network.layers:
        kind = type(layer).__name__
        if kind not in LAYER_TYPES:
            raise InputError(f"cannot save a layer of type {kind}: bpnn files hold "
                             f"{', '.join(LAYER_TYPES)} layers")
        config = dict(layer.config())
        config.pop("init", None)  # the weights are saved; how they were drawn is not needed
        layers.append({"type": kind, **config})
    return {"layers": layers, "loss": network.loss.name, "dtype": network.dtype_name,
            "seed": network.seed if isinstance(network.seed, int) else None}


def parameter_arrays(network, prefix="layers"):
    """``{"layers.<i>.<name>": host array}`` for every parameter of a built network."""
    arrays = {}
    for index, layer in enumerate(network.layers):
        names = layer.param_names + layer.buffer_names
        for name, array in zip(names, [*layer.params, *layer.buffers]):
            arrays[f"{prefix}.{index}.{name}"] = network.backend.to_numpy(array, copy=True)
    return arrays


def check_finite(arrays, what):
    """Refuse to write non-finite numbers: a file never holds a diverged model."""
    for name, array in arrays.items():
        if array.dtype.kind == "f" and not bool(abs(array).max(initial=0.0) < math.inf):
            raise InputError(f"refusing to save {what}: {name} holds NaN or infinity")


@delegate("save")
def save_model(network, path, extra=None):
    """Write ``network`` to ``path`` (atomically; see :mod:`bpnn.files`).

    ``extra`` is JSON-able content stored beside the network (what ``bpnn
    train`` knows about the table: task, columns, classes, target scaling);
    :func:`read_model` returns it.

    Raises
    ------
    ValueError
        The network is not built yet, holds NaN/inf, or the folder does not exist.
    """
    if not network.built:
        raise InputError("the network has no weights yet: train it (or call build()) "
                         "before saving")
    with network.backend.scope():  # a public call (Network.save): read on the model's device
        arrays = parameter_arrays(network)
    check_finite(arrays, "the model")
    content = {"network": network_config(network), "bpnn_version": __version__}
    if extra is not None:
        content["extra"] = extra
    write_atomic(path, encode("model", content, arrays), "the model")


def load_model(path, backend=None, dtype=None, max_bytes=MAX_FILE_BYTES):
    """Read a network saved by :func:`save_model` (or the model in a checkpoint).

    Parameters
    ----------
    path : str or path-like
    backend : str or Backend, optional
        Where to put it; any backend, whichever one wrote the file.
    dtype : {"float32", "float64"}, optional
        Cast to this dtype; by default the saved one (bit-identical predictions).
    max_bytes : int, default 2**32 (4 GiB)
        Refuse larger files before reading them.

    Returns
    -------
    Network

    Raises
    ------
    ModelFileError
        A file that is not a sound bpnn model, or a path that is not a readable
        regular file (missing, a folder, a FIFO, a socket, a device, a symbolic
        link loop, permission denied); the message says what is wrong.
    """
    return read_model(path, backend, dtype, max_bytes)[0]


def read_model(path, backend=None, dtype=None, max_bytes=MAX_FILE_BYTES):
    """``(network, extra)``: :func:`load_model` and the ``extra`` content saved with it
    (``None`` if none)."""
    content, arrays = read(path, ("model", "checkpoint"), max_bytes=max_bytes)
    network = network_from(path, content, arrays, backend=backend, dtype=dtype)
    return network, content.get("extra")


def network_from(path, content, arrays, backend=None, dtype=None, prefix="layers"):
    """Rebuild the network described in ``content["network"]`` with ``arrays``."""
    config = content.get("network")
    if not isinstance(config, dict):
        raise ModelFileError(f"{path}: the file describes no network")
    layers = [_layer(path, index, entry) for index, entry in enumerate(
        _field(path, config, "layers", list, "the network"))]
    if not layers:
        raise ModelFileError(f"{path}: the network has no layers")
    saved_dtype = _field(path, config, "dtype", str, "the network")
    if saved_dtype not in _ARRAY_DTYPES:
        raise ModelFileError(f"{path}: unknown network dtype {saved_dtype!r}")
    seed = integer(path, config.get("seed"), "network.seed", high=MAX_INT, allow_none=True)
    finite_arrays(path, arrays)
    loss_name = _field(path, config, "loss", str, "the network")
    try:
        loss = get_loss(loss_name)
        network = Network(layers, loss=loss, backend=backend, dtype=dtype or saved_dtype,
                          seed=seed)
    except ValueError as error:
        raise ModelFileError(f"{path}: {error}") from None
    weights, buffers = [], []
    expected = set()
    for index, layer in enumerate(layers):
        names = layer.param_names + layer.buffer_names
        shapes = layer.param_shapes() + layer.buffer_shapes()
        for position, (name, shape) in enumerate(zip(names, shapes)):
            key = f"{prefix}.{index}.{name}"
            expected.add(key)
            array = arrays.get(key)
            if array is None:
                raise ModelFileError(f"{path}: the array {key} is missing")
            if tuple(array.shape) != shape:
                raise ModelFileError(f"{path}: the array {key} has shape {tuple(array.shape)}, "
                                     f"the config says {shape}")
            if str(array.dtype) != saved_dtype:
                raise ModelFileError(f"{path}: the array {key} is {array.dtype}, the network "
                                     f"is {saved_dtype}")
            (weights if position < len(layer.param_names) else buffers).append(array)
    unknown = sorted(key for key in arrays if key.startswith(f"{prefix}.") and key not in expected)
    if unknown:
        raise ModelFileError(f"{path}: arrays the config does not describe: {unknown[:5]}")
    network.build(weights=weights, buffers=buffers)
    return network


def _field(path, config, key, kind, where):
    value = config.get(key)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ModelFileError(f"{path}: {where} needs {key!r} as a {kind.__name__}, got "
                             f"{type(value).__name__}")
    return value


def _layer(path, index, entry):
    """One layer from its config entry, through the LAYER_TYPES registry only."""
    if not isinstance(entry, dict):
        raise ModelFileError(f"{path}: layer {index} is not a JSON object")
    kind = entry.get("type")
    if kind not in LAYER_TYPES:
        raise ModelFileError(f"{path}: layer {index} has the unknown type {kind!r}; bpnn "
                             f"files hold {', '.join(LAYER_TYPES)}")
    cls, fields = LAYER_TYPES[kind]
    options = {key: value for key, value in entry.items() if key != "type"}
    if fields is None:  # Activation: a registry name and numeric hyper-parameters
        name = options.pop("activation", None)
        if not isinstance(name, str):
            raise ModelFileError(f"{path}: layer {index} (Activation) needs an activation name")
        fields = {key: float for key in options}
        options_checked = _typed(path, index, kind, options, fields)
        try:
            return cls(name, **options_checked)
        except (TypeError, ValueError) as error:
            raise ModelFileError(f"{path}: layer {index}: {error}") from None
    if set(options) != set(fields):
        raise ModelFileError(f"{path}: layer {index} ({kind}) needs exactly the keys "
                             f"{sorted(fields)}, got {sorted(options)}")
    options = _typed(path, index, kind, options, fields)
    try:
        return cls(**options)
    except (TypeError, ValueError) as error:
        raise ModelFileError(f"{path}: layer {index} ({kind}): {error}") from None


def _typed(path, index, kind, options, fields):
    checked = {}
    for key, value in options.items():
        wanted = fields[key]
        if wanted is int:
            ok = type(value) is int and 0 < value <= MAX_WIDTH
        else:
            ok = type(value) in (int, float) and math.isfinite(value)
        if not ok:
            raise ModelFileError(f"{path}: layer {index} ({kind}) has an invalid {key} "
                                 f"{shown(value)}")
        checked[key] = value
    return checked

