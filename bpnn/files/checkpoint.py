"""Checkpoints: the whole state of a training run, for an exact resume.

A checkpoint is a model file (it loads with :func:`bpnn.load`) plus, under
``training``: the next epoch, the step count, the fit settings that must
not change on resume, the optimizer (name, hyper-parameters, step count and
moments), the host random stream's state (which fixes every later shuffle),
the history so far, and each callback's state (early stopping's best value
and best weights, the plateau counters...).  Resuming from it on NumPy gives
weights bit-identical to a run that was never interrupted.
"""

from __future__ import annotations

import math

from .._version import __version__
from .container import MAX_FILE_BYTES, ModelFileError, encode, read, write_atomic
from .model_file import check_finite, network_config, network_from, parameter_arrays

#: The fit settings a resumed run must share with the checkpointed one.
SETTINGS = ("batch_size", "shuffle", "l2", "l2_shared", "samples", "weighted")


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
    for index, array in enumerate(optimizer.state_arrays()):
        arrays[f"optimizer.{index}"] = backend.to_numpy(array, copy=True)
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
                          "scalars": optimizer.state_scalars()},
            "rng": network.rng.state,
            "history": {"epoch": history.epoch, "logs": history.history},
            "callbacks": states,
        },
    }
    try:
        data = encode("checkpoint", content, arrays)
    except ValueError as error:  # a NaN in the logs: JSON has no NaN
        raise ValueError(f"cannot write the checkpoint: {error}") from None
    write_atomic(path, data)


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
        A file that is not a sound checkpoint.
    ValueError
        A checkpoint of another network, optimizer or set of fit settings.
    """
    content, arrays = read(path, "checkpoint", max_bytes=max_bytes)
    training = content.get("training")
    if not isinstance(training, dict):
        raise ModelFileError(f"{path}: the checkpoint holds no training state")
    saved = network_from(path, content, arrays, backend="numpy")
    network.build()
    if network_config(network)["layers"] != content["network"]["layers"] or \
            network.dtype_name != saved.dtype_name:
        raise ValueError(f"{path} is a checkpoint of another network: {saved!r}; this fit "
                         f"trains {network!r}")
    network.set_weights(saved.get_weights())
    _check_settings(path, training.get("settings"), settings)
    try:
        network.rng.state = training["rng"]
    except (KeyError, TypeError, ValueError) as error:
        raise ModelFileError(f"{path}: the random stream's state is invalid ({error})") from None
    _restore_optimizer(path, training.get("optimizer"), optimizer, network, arrays)
    _restore_history(path, training.get("history"), history)
    _restore_callbacks(path, training.get("callbacks"), callbacks, network, arrays)
    next_epoch = training.get("next_epoch")
    if type(next_epoch) is not int or next_epoch < 1:
        raise ModelFileError(f"{path}: invalid next epoch {next_epoch!r}")
    return next_epoch, bool(training.get("stopped"))


def _check_settings(path, saved, settings):
    if not isinstance(saved, dict):
        raise ModelFileError(f"{path}: the checkpoint does not record its fit settings")
    for key in SETTINGS:
        if saved.get(key) != settings[key]:
            raise ValueError(f"{path} was written by a run with {key}={saved.get(key)!r}; this "
                             f"fit has {key}={settings[key]!r}. Resume with the same data and "
                             "settings (only epochs may change).")


def _restore_optimizer(path, saved, optimizer, network, arrays):
    if not isinstance(saved, dict) or saved.get("name") != optimizer.name:
        name = saved.get("name") if isinstance(saved, dict) else None
        raise ValueError(f"{path} was trained with the optimizer {name!r}; this fit uses "
                         f"{optimizer.name!r}")
    config, scalars = saved.get("config"), saved.get("scalars")
    if not isinstance(config, dict) or set(config) != set(optimizer.config()) or \
            not isinstance(scalars, dict):
        raise ModelFileError(f"{path}: the optimizer's state is malformed")
    for key, value in config.items():  # the saved rate: a schedule may have changed it
        if not (type(value) in (int, float, bool) and math.isfinite(value)):
            raise ModelFileError(f"{path}: the optimizer's {key} is invalid: {value!r}")
        setattr(optimizer, key, value)
    params = network.parameters
    state = []
    while f"optimizer.{len(state)}" in arrays:
        state.append(arrays[f"optimizer.{len(state)}"])
    shapes = [tuple(param.shape) for param in params]
    per_param = len(state) // len(shapes)
    layout = [shape for shape in shapes for _ in range(per_param)]
    if len(state) % len(shapes) or [tuple(array.shape) for array in state] != layout:
        raise ModelFileError(f"{path}: the optimizer's arrays do not fit the network")
    state = [network.backend.asarray(array, dtype=network.dtype, copy=True) for array in state]
    try:
        optimizer.load_state(params, scalars, state)
    except (TypeError, ValueError) as error:
        raise ModelFileError(f"{path}: the optimizer's state is invalid ({error})") from None


def _restore_history(path, saved, history):
    if not isinstance(saved, dict) or not isinstance(saved.get("epoch"), list) or \
            not isinstance(saved.get("logs"), dict):
        raise ModelFileError(f"{path}: the history is malformed")
    history.epoch = list(saved["epoch"])
    history.history = {key: list(values) for key, values in saved["logs"].items()}


def _restore_callbacks(path, saved, callbacks, network, arrays):
    if not isinstance(saved, list):
        raise ModelFileError(f"{path}: the callbacks' state is malformed")
    names = [type(callback).__name__ for callback in callbacks]
    if [entry.get("class") if isinstance(entry, dict) else None for entry in saved] != names:
        raise ValueError(f"{path} was written with the callbacks "
                         f"{[entry.get('class') for entry in saved if isinstance(entry, dict)]}"
                         f"; this fit has {names}. Resume with the same callbacks, in order.")
    for position, (callback, entry) in enumerate(zip(callbacks, saved)):
        values, count = entry.get("values"), entry.get("arrays")
        if not isinstance(values, dict) or type(count) is not int or count < 0:
            raise ModelFileError(f"{path}: the state of {names[position]} is malformed")
        state = []
        for index in range(count):
            key = f"callbacks.{position}.{index}"
            if key not in arrays:
                raise ModelFileError(f"{path}: the array {key} is missing")
            state.append(network.backend.asarray(arrays[key], dtype=network.dtype, copy=True))
        try:
            callback.set_state(values, state)
        except (KeyError, TypeError, ValueError) as error:
            raise ModelFileError(f"{path}: the state of {names[position]} is invalid "
                                 f"({error})") from None
