"""Named building blocks: lookup by name, and the repr they share.

Activations, losses, initializers and optimizers are each a registry
``{name: class}``; users pass a name (with keyword arguments) or an instance.
"""

from __future__ import annotations

from .errors import InputError


class Configurable:
    """An object rebuilt from its constructor's keyword arguments.

    Subclasses set :attr:`name` (their registry key) and return their
    hyper-parameters from :meth:`config`; ``repr`` shows them.
    """

    name = ""

    def config(self):
        """The constructor's keyword arguments."""
        return {}

    def __repr__(self):
        args = ", ".join(f"{key}={value!r}" for key, value in self.config().items())
        return f"{type(self).__name__}({args})"


def lookup(value, registry, base, kind, **params):
    """Return ``value`` if it is a ``base`` instance, else build ``registry[value](**params)``.

    Parameters
    ----------
    value : str or base instance
        A registry name (case-insensitive) or an object to pass through.
    registry : dict of str to type
    base : type
    kind : str
        How error messages call the thing (``"activation"``...).
    **params
        Keyword arguments of the constructor.

    Raises
    ------
    InputError
        (a ``ValueError``) for an unknown name (the message lists the known ones) or arguments
        the constructor does not take or accept.
    """
    if isinstance(value, base):
        return value
    cls = registry.get(str(value).lower())
    if cls is None:
        raise InputError(f"unknown {kind} {value!r}; choose one of {', '.join(sorted(registry))}")
    try:
        return cls(**params)
    except TypeError as error:
        raise InputError(f"{kind} {value!r} does not take the arguments {sorted(params)} "
                         f"({error})") from None
