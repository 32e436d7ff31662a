"""Backends: one adapter per array library, and the selector that picks one.

The math in :mod:`bpnn` is written once against the Array API standard; an
adapter gives it what the standard does not: the namespace ``xp``, the device,
the two crossings of the host/device border, host-drawn random numbers and a
way to wait for an asynchronous device.
"""

from .base import ARRAY_API_VERSION, FLOAT_DTYPES, Backend
from .random import HostRandom
from .selector import (
    BACKENDS,
    ENVIRONMENT_VARIABLE,
    BackendError,
    availability_report,
    available_backends,
    backend_names,
    get_backend,
    infer_backend_name,
)

__all__ = [
    "ARRAY_API_VERSION",
    "BACKENDS",
    "ENVIRONMENT_VARIABLE",
    "FLOAT_DTYPES",
    "Backend",
    "BackendError",
    "HostRandom",
    "availability_report",
    "available_backends",
    "backend_names",
    "get_backend",
    "infer_backend_name",
]
