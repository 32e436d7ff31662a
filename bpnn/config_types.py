"""Typed configs: what a registered class declares its constructor's arguments to be.

A layer declares ``config_types``, a dict from each keyword of its constructor to a
type written in this small language (the model file stores the config as JSON and
checks every field against it when it reads one back)::

    int                 an integer (not a bool) of at most 2**31 in magnitude
    float               a finite number (an int is taken as a float)
    str, bool           a string; true or false
    (int, int)          a tuple of exactly these item types (JSON: a list)
    (int, ...)          a tuple of any length, every item an int
    [float]             a list of any length, every item a float
    {"a": int, ...}     a nested object with exactly these keys
    Optional(int)       None (JSON null) or the type inside

A value that does not fit is a :class:`ConfigTypeError` naming the field (dotted,
with list positions: ``padding``, ``kernel_size[1]``, ``schedule.steps``).
"""

from __future__ import annotations

import math

#: The largest integer a config field may hold, in magnitude (a width, a count).
MAX_CONFIG_INT = 2 ** 31
_SCALARS = (int, float, str, bool)


class ConfigTypeError(ValueError):
    """A config value that does not fit its declared type.

    Attributes
    ----------
    field : str
        The field's dotted name.
    value : object
        The value found there.
    problem : str
        What it must be.
    """

    def __init__(self, field, value, problem):
        super().__init__(f"{field} {problem}")
        self.field, self.value, self.problem = field, value, problem


class Optional:
    """The type ``None`` or ``inner``."""

    def __init__(self, inner):
        check_spec(inner)
        self.inner = inner

    def __repr__(self):
        return f"Optional({_name(self.inner)})"


def check_spec(spec, where="config_types"):
    """Raise ``TypeError`` when ``spec`` is not a type of the language (at registration,
    so a layer author learns it at import time, not when a file is read)."""
    if spec in _SCALARS or isinstance(spec, Optional):
        return
    if isinstance(spec, tuple) and spec:
        items = spec[:1] if len(spec) == 2 and spec[1] is Ellipsis else spec
        for item in items:
            check_spec(item, where)
        return
    if isinstance(spec, list) and len(spec) == 1:
        check_spec(spec[0], where)
        return
    if isinstance(spec, dict) and all(isinstance(key, str) for key in spec):
        for key, item in spec.items():
            check_spec(item, f"{where}.{key}")
        return
    raise TypeError(f"{where}: {spec!r} is not a config type (int, float, str, bool, a tuple "
                    "or list of them, a dict of them, or Optional(...))")


def conform(spec, value, field):
    """``value`` checked against ``spec`` and in its Python form (tuples for tuple types).

    Raises
    ------
    ConfigTypeError
        Naming ``field`` (or the nested field) and what it must be.
    """
    if isinstance(spec, Optional):
        return None if value is None else conform(spec.inner, value, field)
    if spec is bool:
        if type(value) is not bool:
            raise ConfigTypeError(field, value, "must be true or false")
        return value
    if spec is int:
        if type(value) is not int or abs(value) > MAX_CONFIG_INT:
            raise ConfigTypeError(field, value, f"must be an integer of at most 2**31 in "
                                                "magnitude")
        return value
    if spec is float:
        if type(value) not in (int, float) or not math.isfinite(value):
            raise ConfigTypeError(field, value, "must be a finite number")
        return float(value)
    if spec is str:
        if not isinstance(value, str):
            raise ConfigTypeError(field, value, "must be a string")
        return value
    if isinstance(spec, dict):
        if not isinstance(value, dict):
            raise ConfigTypeError(field, value, "must be an object")
        if set(value) != set(spec):
            raise ConfigTypeError(field, value, f"must hold exactly the keys {sorted(spec)}, "
                                                f"got {sorted(map(str, value))}")
        return {key: conform(spec[key], value[key], f"{field}.{key}") for key in spec}
    if not isinstance(value, (list, tuple)):
        raise ConfigTypeError(field, value, f"must be a list ({_name(spec)})")
    if isinstance(spec, list) or spec[1:] == (Ellipsis,):
        items = [conform(spec[0], item, f"{field}[{index}]") for index, item in enumerate(value)]
        return items if isinstance(spec, list) else tuple(items)
    if len(value) != len(spec):
        raise ConfigTypeError(field, value, f"must hold {len(spec)} items ({_name(spec)})")
    return tuple(conform(item_spec, item, f"{field}[{index}]")
                 for index, (item_spec, item) in enumerate(zip(spec, value)))


def to_json(value):
    """A conformed value as JSON data: tuples become lists."""
    if isinstance(value, (list, tuple)):
        return [to_json(item) for item in value]
    if isinstance(value, dict):
        return {key: to_json(item) for key, item in value.items()}
    return value


def _name(spec):
    """How a message writes a type: ``(int, int)``, ``[float]``..."""
    if isinstance(spec, type):
        return spec.__name__
    if isinstance(spec, tuple):
        return "(" + ", ".join("..." if item is Ellipsis else _name(item) for item in spec) + ")"
    if isinstance(spec, list):
        return f"[{_name(spec[0])}]"
    if isinstance(spec, dict):
        return "{" + ", ".join(f"{key}: {_name(item)}" for key, item in spec.items()) + "}"
    return repr(spec)
