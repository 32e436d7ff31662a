"""Checkpoints: the whole state of a training run, for an exact resume.

A checkpoint is a model file (it loads with :func:`bpnn.load`) plus, under
``training``: the next epoch, the step count, the fit settings that must
not change on resume, the optimizer (name, hyper-parameters, step count and
moments), the host random stream's state (which fixes every later shuffle),
the history so far, and each callback's state (early stopping's best value
and best weights, the plateau counters...).  Resuming from it on NumPy gives
weights bit-identical to a run that was never interrupted.

The optimizer's state arrays are stored by name, ``optimizer.<name>``, of any
shape, their names listed in ``training.optimizer.arrays``: the names an
optimizer gives with a ``state_names()`` method (beside ``state_arrays()``),
else their positions ``0, 1, ...``, which is how checkpoints written before the
list existed name them (those load as they are).
"""

from __future__ import annotations

import re

from .._version import __version__
from ..errors import InputError
from . import schema
from .container import (
    MAX_ARRAYS,
    MAX_FILE_BYTES,
    ModelFileError,
    encode,
    read,
    write_atomic,
)
from .model_file import check_finite, network_config, network_from, parameter_arrays

#: The fit settings a resumed run must share with the checkpointed one.
SETTINGS = ("batch_size", "shuffle", "l2", "l2_shared", "samples", "weighted", "optimizer",
            "data")
#: Those of :data:`SETTINGS` from :func:`resume_record`, which older checkpoints lack.
RECORDED = ("optimizer", "data")
#: What an optimizer's state array may be called (``m.3``, ``velocity``, ``0``).
STATE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,199}")


def optimizer_state(optimizer):
    """``{name: array}``: the optimizer's live state arrays by name, in order.

    The names are those of the optimizer's ``state_names()`` where it has one,
    else the arrays' positions (``"0"``, ``"1"``...).

    Raises
    ------
    InputError
        ``state_names()`` gives another count of names than there are arrays, a name
        twice, or a name that is not a short word of letters, digits, ``_ . -``.
    """
    arrays = list(optimizer.state_arrays())
    names_of = getattr(optimizer, "state_names", None)
    names = [str(index) for index in range(len(arrays))] if names_of is None \
        else list(names_of())
    if len(names) != len(arrays) or len(set(names)) != len(names) or not all(
            isinstance(name, str) and STATE_NAME.fullmatch(name) for name in names):
        raise InputError(f"{type(optimizer).__name__}.state_names() must name each of its "
                         f"{len(arrays)} state arrays once (letters, digits, _ . -), got "
                         f"{names!r}")
    return dict(zip(names, arrays))


def save_checkpoint(path, network, optimizer, callbacks, history, epoch, settings, stopped):
    """Write the training state after ``epoch`` (0-based) to ``path``, atomically.

    Raises
    ------
    ValueError
        When a weight or a state array is NaN or infinite (a checkpoint never
        holds a diverged run) or a logged figure is not a finite number.
    """
    backend = network.backend
    arrays = parameter_arrays(network)
    state = optimizer_state(optimizer)
    for name, array in state.items():
        arrays[f"optimizer.{name}"] = backend.to_numpy(array, copy=True)
    states = []
    for position, callback in enumerate(callbacks):
        values, state_arrays = callback.get_state()
        states.append({"class": type(callback).__name__, "values": values,
                       "arrays": len(state_arrays)})
        for index, array in enumerate(state_arrays):
            arrays[f"callbacks.{position}.{index}"] = backend.to_numpy(array, copy=True)
    check_finite(arrays, "the checkpoint")
    content = {
        "network": network_config(network),
        "bpnn_version": __version__,
        "training": {
            "next_epoch": epoch + 1,
            "steps_per_epoch": settings["steps"],
            "stopped": bool(stopped),
            "settings": {key: settings[key] for key in SETTINGS},
            "optimizer": {"name": optimizer.name, "config": optimizer.config(),
                          "scalars": optimizer.state_scalars(), "arrays": list(state)},
            "rng": network.rng.state,
            "history": {"epoch": history.epoch, "logs": history.history},
            "callbacks": states,
        },
    }
    try:
        data = encode("checkpoint", content, arrays)
    except ValueError as error:  # a NaN in the logs: JSON has no NaN
        raise InputError(f"cannot write the checkpoint: {error}") from None
    write_atomic(path, data, "the checkpoint")


def restore_checkpoint(path, network, optimizer, callbacks, history, settings,
                       max_bytes=MAX_FILE_BYTES):
    """Load the state saved by :func:`save_checkpoint` into a run about to start.

    Returns
    -------
    next_epoch : int
    stopped : bool
        Whether the checkpointed run had been stopped by a callback.

    Raises
    ------
    ModelFileError
        A file that is not a sound checkpoint, or a field of it that is missing,
        of the wrong type or out of range (the message names the field).
    ValueError
        A checkpoint of another run: another network, seed, optimizer or optimizer
        configuration (learning rate...), set of fit settings, or data (compared by
        digest, so other data of the same size is refused too).
    """
    content, arrays = read(path, "checkpoint", max_bytes=max_bytes)
    training = schema.mapping(path, content.get("training"), "training")
    saved = network_from(path, content, arrays, backend="numpy")
    network.build()
    mine = network_config(network)
    if mine["layers"] != content["network"]["layers"] or \
            network.dtype_name != saved.dtype_name:
        raise InputError(f"{path} is a checkpoint of another network: {saved!r}; this fit "
                         f"trains {network!r}")
    _check_optimizer_name(path, training.get("optimizer"), optimizer)
    _check_settings(path, training.get("settings"), {**settings, "seed": mine["seed"]},
                    content["network"].get("seed"))
    next_epoch = schema.integer(path, training.get("next_epoch"), "training.next_epoch", 1)
    schema.integer(path, training.get("steps_per_epoch"), "training.steps_per_epoch",
                   allow_none=True)
    stopped = schema.boolean(path, training.get("stopped"), "training.stopped")
    network.set_weights(saved.get_weights())
    _restore_rng(path, training.get("rng"), network, settings["samples"])
    _restore_optimizer(path, training.get("optimizer"), optimizer, network, arrays)
    _restore_history(path, training.get("history"), history)
    _restore_callbacks(path, training.get("callbacks"), callbacks, network, arrays)
    return next_epoch, stopped


def resume_record(network, optimizer, data, needed=True):
    """The fit settings beyond :data:`SETTINGS`' first ones that a resume compares: the
    optimizer as configured when the fit starts (a schedule may change the saved one
    later), and a digest of the data (:func:`bpnn.distributed.data_digest`; ``None``
    for a batch iterator, or when no checkpoint is read or written: ``needed`` false)."""
    digest = None
    if needed and data.bounds is not None:
        from ..distributed import data_digest

        digest = data_digest(network.backend, data)
    return {"optimizer": {"name": optimizer.name, **optimizer.config()}, "data": digest}


def _check_settings(path, saved, settings, seed):
    """Refuse to resume a run whose data or settings differ from the checkpointed one's."""
    saved = {**schema.mapping(path, saved, "training.settings"), "seed": seed}
    for key in (*SETTINGS, "seed"):
        if key in RECORDED and None in (saved.get(key), settings[key]):
            continue  # a checkpoint of an older bpnn, or a batch iterator's run
        if saved.get(key) != settings[key]:
            raise InputError(f"{path} was written by a run with {_setting(key, saved)}; this "
                             f"fit has {_setting(key, settings)}. Resume with the same data "
                             "and settings (only epochs may change), or start afresh: delete "
                             "the checkpoint or leave out resume.")


def _setting(key, settings):
    """``key=value`` for a message (the data by its digest)."""
    text = repr(settings.get(key))
    text = text if len(text) <= 80 else f"{text[:77]}..."
    return f"the data of digest {text}" if key == "data" else f"{key}={text}"


def _restore_rng(path, state, network, n):
    """The host random stream's state (which fixes every later shuffle) for ``n`` rows."""
    schema.mapping(path, state, "training.rng")
    schema.finite_json(path, state, "training.rng", max_int=2 ** 128)  # PCG64: 128-bit words
    order = state.get("order")
    if order is not None and sorted(schema.sequence(path, order, "training.rng.order", n,
                                                    schema.integer)) != list(range(n)):
        raise schema.refuse(path, "training.rng.order", "is not a permutation of the rows")
    try:
        network.rng.state = state
    except (KeyError, TypeError, ValueError, OverflowError) as error:
        raise schema.refuse(path, "training.rng", f"is invalid ({error})") from None


def _check_optimizer_name(path, saved, optimizer):
    if not isinstance(saved, dict) or saved.get("name") != optimizer.name:
        name = saved.get("name") if isinstance(saved, dict) else None
        raise InputError(f"{path} was trained with the optimizer {name!r}; this fit uses "
                         f"{optimizer.name!r}")


def _restore_optimizer(path, saved, optimizer, network, arrays):
    config = schema.mapping(path, saved.get("config"), "training.optimizer.config")
    scalars = schema.mapping(path, saved.get("scalars"), "training.optimizer.scalars")
    if set(config) != set(optimizer.config()):
        raise schema.refuse(path, "training.optimizer.config", f"must hold the keys "
                                                               f"{sorted(optimizer.config())}")
    for key, value in config.items():
        wanted = bool if type(optimizer.config()[key]) is bool else (int, float)
        if not isinstance(value, wanted) or (wanted is not bool and isinstance(value, bool)):
            raise schema.refuse(path, f"training.optimizer.config.{key}",
                                f"has the wrong type {type(value).__name__}")
    schema.finite_json(path, config, "training.optimizer.config")
    # the saved rate (a schedule may have changed it), checked by the optimizer's own rules
    checked = schema.built(path, "training.optimizer.config", type(optimizer), **config)
    for key in config:
        setattr(optimizer, key, getattr(checked, key))
    if set(scalars) != set(optimizer.state_scalars()):
        raise schema.refuse(path, "training.optimizer.scalars", "must hold the keys "
                                                                f"{sorted(optimizer.state_scalars())}")
    for key, value in scalars.items():
        schema.integer(path, value, f"training.optimizer.scalars.{key}")
    params = network.parameters
    state = [arrays[f"optimizer.{name}"] for name in _state_names(path, saved, arrays)]
    if not hasattr(optimizer, "state_names"):  # positional: one array per parameter, or k
        shapes = [tuple(param.shape) for param in params]
        per_param = len(state) // len(shapes)
        layout = [shape for shape in shapes for _ in range(per_param)]
        if len(state) % len(shapes) or [tuple(array.shape) for array in state] != layout:
            raise ModelFileError(f"{path}: the optimizer's arrays do not fit the network")
    # named state may have any shape: the optimizer's load_state checks it
    state = [network.backend.asarray(array, dtype=network.dtype if array.dtype.kind == "f"
                                     else None, copy=True) for array in state]
    try:
        optimizer.load_state(params, scalars, state)
    except (TypeError, ValueError) as error:
        raise ModelFileError(f"{path}: the optimizer's state is invalid ({error})") from None


def _state_names(path, saved, arrays):
    """The names of the optimizer's saved arrays, in the order its ``state_arrays`` gave
    them: ``training.optimizer.arrays``, or, in a checkpoint older than that list,
    ``0, 1, ...`` as far as the arrays go."""
    names = saved.get("arrays")
    if names is None:
        names = []
        while f"optimizer.{len(names)}" in arrays:
            names.append(str(len(names)))
    else:
        def name(path, value, where):
            schema.text(path, value, where)
            if not STATE_NAME.fullmatch(value):
                raise schema.refuse(path, where, "must be a short name of letters, digits, "
                                                 f"_ . -, got {schema.shown(value)}")
            if f"optimizer.{value}" not in arrays:
                raise ModelFileError(f"{path}: the array optimizer.{value} is missing")
            return value

        names = schema.sequence(path, names, "training.optimizer.arrays", item=name)
        if len(set(names)) != len(names):
            raise schema.refuse(path, "training.optimizer.arrays", "names an array twice")
    unknown = sorted(set(key for key in arrays if key.startswith("optimizer."))
                     - {f"optimizer.{name}" for name in names})
    if unknown:
        raise ModelFileError(f"{path}: arrays the checkpoint does not describe: {unknown[:5]}")
    return names


def _restore_history(path, saved, history):
    """The epochs and logs recorded so far: integers and finite numbers (or null)."""
    saved = schema.mapping(path, saved, "training.history")
    epochs = schema.sequence(path, saved.get("epoch"), "training.history.epoch",
                             item=schema.integer)
    logs = schema.mapping(path, saved.get("logs"), "training.history.logs")
    for key, values in logs.items():
        schema.sequence(path, values, f"training.history.logs.{key}", item=_logged)
    history.epoch = list(epochs)
    history.history = {key: list(values) for key, values in logs.items()}


def _logged(path, value, name):
    """One logged figure: a finite number, or ``None`` (not measured that epoch)."""
    return schema.number(path, value, name, allow_none=True)


def _restore_callbacks(path, saved, callbacks, network, arrays):
    if not isinstance(saved, list):
        raise ModelFileError(f"{path}: the callbacks' state is malformed")
    names = [type(callback).__name__ for callback in callbacks]
    if [entry.get("class") if isinstance(entry, dict) else None for entry in saved] != names:
        raise InputError(f"{path} was written with the callbacks "
                         f"{[entry.get('class') for entry in saved if isinstance(entry, dict)]}"
                         f"; this fit has {names}. Resume with the same callbacks, in order.")
    for position, (callback, entry) in enumerate(zip(callbacks, saved)):
        where = f"training.callbacks[{position}]"
        values = schema.mapping(path, entry.get("values"), f"{where}.values")
        schema.finite_json(path, values, f"{where}.values")
        count = schema.integer(path, entry.get("arrays"), f"{where}.arrays", high=MAX_ARRAYS)
        state = []
        for index in range(count):
            key = f"callbacks.{position}.{index}"
            if key not in arrays:
                raise ModelFileError(f"{path}: the array {key} is missing")
            state.append(network.backend.asarray(arrays[key], dtype=network.dtype, copy=True))
        try:
            callback.set_state(values, state)
        except (KeyError, TypeError, ValueError, OverflowError) as error:
            raise ModelFileError(f"{path}: the state of {names[position]} is invalid "
                                 f"({error})") from None
