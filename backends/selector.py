"""Choosing a backend: by name, ``"auto"``, ``BPNN_BACKEND`` or the arrays given.

Names may carry a device after a colon: ``"cupy:1"``, ``"torch:cuda"``.
"""

from __future__ import annotations

import os

from .cupy_backend import CupyBackend
from .jax_backend import JaxBackend
from .numpy_backend import NumpyBackend
from .strict_backend import StrictBackend
from .torch_backend import TorchBackend
from .base import Backend, register_selector

#: Every backend bpnn knows, by name, in the order they are listed to users.
BACKENDS = {cls.name: cls for cls in (NumpyBackend, CupyBackend, StrictBackend, TorchBackend,
                                      JaxBackend)}

#: Other spellings users reach for.
ALIASES = {"np": "numpy", "strict": "array_api_strict", "array-api-strict": "array_api_strict",
           "pytorch": "torch"}

#: The environment variable that names the default backend.
ENVIRONMENT_VARIABLE = "BPNN_BACKEND"

# The library an array's type comes from -> the backend that owns it.
_LIBRARY_TO_BACKEND = {"numpy": "numpy", "cupy": "cupy", "torch": "torch",
                       "array_api_strict": "array_api_strict", "jax": "jax", "jaxlib": "jax"}

_cache: dict = {}
_by_spec: dict = {}


class BackendError(ValueError):
    """An unknown or unavailable backend was asked for."""


def backend_names():
    """The names of every backend bpnn knows, available here or not."""
    return list(BACKENDS)


def available_backends():
    """The names of the backends that can run on this machine, in listing order."""
    return [name for name, cls in BACKENDS.items() if cls.is_available()]


def availability_report():
    """``{name: (available, reason)}`` for every known backend."""
    return {name: cls.availability() for name, cls in BACKENDS.items()}


def _split(spec):
    name, _, device = str(spec).strip().partition(":")
    name = name.lower()
    return ALIASES.get(name, name), (device or None)


def get_backend(name=None, *, like=None):
    """Return the backend to run on.

    Parameters
    ----------
    name : str or Backend, optional
        ``"numpy"``, ``"cupy"``, ``"array_api_strict"``, ``"torch"``, ``"jax"`` (each
        optionally followed by ``":device"``), or ``"auto"``: CuPy when a CUDA
        device answers, else NumPy.  ``None`` takes the backend that owns the
        array ``like`` when that is not a NumPy array, else the
        ``BPNN_BACKEND`` environment variable, else ``"auto"``.  A backend
        object is returned as it is.
    like : array, optional
        An array whose library (and device) decides when ``name`` is ``None``.

    Returns
    -------
    Backend

    Raises
    ------
    BackendError
        For an unknown name or a backend that cannot run here; the message
        lists the available backends.
    """
    if isinstance(name, Backend):
        return name
    if name is None and like is not None:
        inferred = infer_backend_name(like)
        if inferred is not None and inferred != "numpy":
            name = inferred
    if name is None:
        name = os.environ.get(ENVIRONMENT_VARIABLE, "").strip() or "auto"
    key, device = _split(name)
    if key == "auto":
        key = "cupy" if CupyBackend.is_available() else "numpy"
    if key not in BACKENDS:
        raise BackendError(f"unknown backend {name!r}; available here: "
                           f"{', '.join(available_backends())}")
    cls = BACKENDS[key]
    available, reason = cls.availability()
    if not available:
        raise BackendError(f"backend {key!r} is not available: {reason}; available here: "
                           f"{', '.join(available_backends())}")
    cache_key = (key, device)
    if cache_key not in _cache:
        try:
            backend = cls(device)
        except (ValueError, RuntimeError, TypeError) as error:
            raise BackendError(f"backend {name!r}: {error}") from error
        # one object per device, however it was named ("cupy", "cupy:0"): a model
        # unpickled by its spec finds the same backend
        _cache[cache_key] = _by_spec.setdefault(backend.spec, backend)
    return _cache[cache_key]


register_selector(get_backend)


def infer_backend_name(x):
    """The backend spec (``"torch:cuda:0"``...) owning array ``x``, or ``None`` for host data."""
    library = type(x).__module__.split(".")[0]
    key = _LIBRARY_TO_BACKEND.get(library)
    if key == "torch":
        return "torch" if x.device.type == "cpu" else f"torch:{x.device}"
    if key == "cupy":
        return f"cupy:{x.device.id}"
    if key == "jax":
        device = next(iter(x.devices()))
        return "jax" if device.platform == "cpu" and device.id == 0 else \
            f"jax:{device.platform}:{device.id}"
    return key
