"""Checks of the fields a loader reads from a file's JSON content, before it uses them.

Each check takes the file's path and the field's dotted name, and returns the
value or raises :class:`~bpnn.errors.ModelFileError` naming both: a
hand-edited file (a missing key, a string for a number, ``1e400`` (which JSON
reads as infinity), ``-1`` for a count, ``10**400``) is refused where it is
read, never left to crash, overflow or mislead later.
"""

from __future__ import annotations

import math

from ..errors import ModelFileError

#: The largest integer a count, a step or a seed may be (it must fit an int64).
MAX_INT = 2 ** 63 - 1


def refuse(path, name, problem):
    """The :class:`ModelFileError` for field ``name`` of the file at ``path``."""
    return ModelFileError(f"{path}: the field {name} {problem}")


def mapping(path, value, name):
    """``value`` if it is a JSON object (a dict)."""
    if not isinstance(value, dict):
        raise refuse(path, name, f"must be a JSON object, got {type(value).__name__}")
    return value


def integer(path, value, name, low=0, high=MAX_INT, allow_none=False):
    """``value`` if it is an int (not a bool) in ``[low, high]`` (or ``None`` when allowed)."""
    if value is None and allow_none:
        return None
    if type(value) is not int or not low <= value <= high:
        raise refuse(path, name, f"must be an integer in [{low}, {high}], got {shown(value)}")
    return value


def boolean(path, value, name):
    """``value`` if it is ``true`` or ``false``."""
    if type(value) is not bool:
        raise refuse(path, name, f"must be true or false, got {shown(value)}")
    return value


def number(path, value, name, low=-math.inf, high=math.inf, allow_none=False,
           open_high=False, positive=False):
    """``value`` as a finite float in ``[low, high]`` (``high`` excluded with
    ``open_high``; 0 excluded with ``positive``), or ``None`` when allowed."""
    if value is None and allow_none:
        return None
    ok = type(value) in (int, float) and math.isfinite(value) and low <= value <= high \
        and not (open_high and value == high) and not (positive and value <= 0)
    if not ok:
        bound = "" if math.isinf(low) and math.isinf(high) else \
            f" in [{low}, {high}{')' if open_high else ']'}"
        raise refuse(path, name, f"must be a finite number{' > 0' if positive else ''}{bound}, "
                                 f"got {shown(value)}")
    return float(value) if type(value) is float else value


def text(path, value, name, choices=None, allow_none=False):
    """``value`` if it is a string (one of ``choices`` when given), or ``None`` when allowed."""
    if value is None and allow_none:
        return None
    if not isinstance(value, str) or (choices is not None and value not in choices):
        wanted = "a string" if choices is None else f"one of {sorted(choices)}"
        raise refuse(path, name, f"must be {wanted}, got {shown(value)}")
    return value


def sequence(path, value, name, length=None, item=None):
    """``value`` if it is a list (of ``length`` items when given), each item passed
    through ``item(path, value, name)`` when given."""
    if not isinstance(value, list):
        raise refuse(path, name, f"must be a list, got {type(value).__name__}")
    if length is not None and len(value) != length:
        raise refuse(path, name, f"must hold {length} items, got {len(value)}")
    if item is not None:
        value = [item(path, entry, f"{name}[{index}]") for index, entry in enumerate(value)]
    return value


def labels(path, value, name, length):
    """``value`` if it is a list of ``length`` distinct class labels (strings, booleans or
    finite numbers)."""
    def label(path, item, where):
        return item if isinstance(item, (str, bool)) else number(path, item, where)

    items = sequence(path, value, name, length, label)
    if len(set(map(repr, items))) != len(items):
        raise refuse(path, name, "names a class twice")
    return items


def finite_json(path, value, name, max_int=MAX_INT):
    """Refuse a non-finite float anywhere in ``value``, a JSON value (JSON reads
    ``1e400`` as infinity), or an integer larger than ``max_int`` in magnitude (any
    integer with ``max_int=None``)."""
    if isinstance(value, float):
        number(path, value, name)
    elif type(value) is int and max_int is not None and abs(value) > max_int:
        raise refuse(path, name, f"is an integer larger than {max_int}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            finite_json(path, item, f"{name}[{index}]", max_int)
    elif isinstance(value, dict):
        for key, item in value.items():
            finite_json(path, item, f"{name}.{key}" if name else str(key), max_int)


def finite_arrays(path, arrays):
    """Refuse a file whose float arrays hold NaN or infinity, naming the first such array."""
    for name in sorted(arrays):
        array = arrays[name]
        if array.dtype.kind == "f" and not bool(abs(array).max(initial=0.0) < math.inf):
            raise ModelFileError(f"{path}: the array {name} holds NaN or infinity")


def built(path, name, factory, *args, **kwargs):
    """``factory(*args, **kwargs)``, its ``TypeError``/``ValueError``/``OverflowError``
    turned into a :class:`ModelFileError` naming field ``name`` (an optimizer or layer
    constructor validates its own hyper-parameters)."""
    try:
        return factory(*args, **kwargs)
    except (TypeError, ValueError, OverflowError) as error:
        raise refuse(path, name, f"is invalid: {error}") from None


def shown(value):
    """A short ``repr`` of ``value`` for a message (a 400-digit integer is not worth
    printing)."""
    written = repr(value) if not isinstance(value, int) or abs(value) < 10 ** 30 \
        else "a huge int"
    return written if len(written) <= 60 else f"{written[:57]}..."
