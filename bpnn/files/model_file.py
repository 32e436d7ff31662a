"""Saving and loading networks: the config from bpnn's registries, the arrays by name.

A network's config names only what bpnn's registries hold: layer types
(:data:`bpnn.layers.LAYERS`: ``Dense``, ``RBF``, ``Activation``, ``Dropout``...
and any layer registered with :func:`~bpnn.layers.register_layer`), activation and
loss names, and each layer's fields as its ``config_types`` declare them (numbers,
strings, booleans, tuples, lists, nested objects).  The loader rebuilds the
network from those registries (never from an import path), checks every field
against its declared type and every array's shape against the config before
anything is allocated on a device, and copies the arrays in: the predictions of
the loaded network are bit-identical to the saved one's.
"""

from __future__ import annotations

import math

from .._version import __version__
from ..errors import InputError
from ..config_types import ConfigTypeError, conform, to_json
from ..layers import LAYERS
from ..losses import get_loss
from ..network import Network, delegate
from .container import MAX_FILE_BYTES, ModelFileError, encode, read, write_atomic
from .schema import MAX_INT, finite_arrays, integer, shown

_ARRAY_DTYPES = {"float32": "float32", "float64": "float64"}


def network_config(network):
    """The JSON-able description of ``network``'s architecture, loss, dtype and seed."""
    return {"layers": [layer_config(layer) for layer in network.layers],
            "loss": network.loss.name, "dtype": network.dtype_name,
            "seed": network.seed if isinstance(network.seed, int) else None}


def layer_config(layer):
    """``{"type": name, **fields}``: a layer's entry in a file, its fields those of its
    ``config_types`` (others, such as how the weights were drawn, are not needed: the
    weights are saved), checked against their types and written as JSON.

    Raises
    ------
    InputError
        The layer's type is not registered, or its config does not fit its types.
    """
    kind = LAYERS.name_of(type(layer))
    if kind is None:
        raise InputError(f"cannot save a layer of type {type(layer).__name__}: register it "
                         f"with bpnn.layers.register_layer (bpnn files hold "
                         f"{', '.join(LAYERS)} layers)")
    config = layer.config()
    schema = type(layer).config_schema(config)
    missing = sorted(set(schema) - set(config))
    if missing:
        raise InputError(f"cannot save {layer!r}: its config() lacks {missing}")
    try:
        fields = {key: conform(spec, config[key], key) for key, spec in schema.items()}
    except ConfigTypeError as error:
        raise InputError(f"cannot save {layer!r}: the field {error}") from None
    return {"type": kind, **to_json(fields)}




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
    """One layer from its config entry, through the :data:`~bpnn.layers.LAYERS` registry
    only, every field checked against the type the layer declares."""
    if not isinstance(entry, dict):
        raise ModelFileError(f"{path}: layer {index} is not a JSON object")
    kind = entry.get("type")
    cls = LAYERS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ModelFileError(f"{path}: layer {index} has the unknown type {shown(kind)}; bpnn "
                             f"files hold {', '.join(LAYERS)} (a layer of your own joins them "
                             "with bpnn.layers.register_layer)")
    options = {key: value for key, value in entry.items() if key != "type"}
    fields = cls.config_schema(options)
    if set(options) != set(fields):
        raise ModelFileError(f"{path}: layer {index} ({kind}) needs exactly the keys "
                             f"{sorted(fields)}, got {sorted(options)}")
    try:
        options = {key: conform(spec, options[key], key) for key, spec in fields.items()}
    except ConfigTypeError as error:
        raise ModelFileError(f"{path}: layer {index} ({kind}) has an invalid {error.field} "
                             f"{shown(error.value)}: it {error.problem}") from None
    try:
        return cls(**options)
    except (TypeError, ValueError, OverflowError) as error:
        raise ModelFileError(f"{path}: layer {index} ({kind}): {error}") from None
