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


class Registry(dict):
    """An open registry ``{name: class}`` that classes join with :meth:`register`.

    A file names a registered class by its key, and nothing else: no import path
    read from a file is ever followed.

    Parameters
    ----------
    kind : str
        How messages call the things (``"layer"``, ``"optimizer"``).
    base : type
        The class every member derives from.
    key : callable
        ``key(cls)``: the name a class registers under by default.
    """

    def __init__(self, kind, base, key):
        super().__init__()
        self.kind = kind
        self.base = base
        self.key = key

    def register(self, cls=None, *, name=None):
        """Add ``cls`` under ``name`` (by default its key); usable as a class decorator,
        bare (``@register_layer``) or called (``@register_layer(name="Conv2D")``).

        Raises
        ------
        InputError
            ``cls`` is not a subclass of the registry's base, or another class already
            holds the name (registering the same class again is allowed).
        """
        def add(cls):
            if not (isinstance(cls, type) and issubclass(cls, self.base)):
                raise InputError(f"a {self.kind} must be a subclass of {self.base.__name__}, "
                                 f"got {cls!r}")
            key = name if name is not None else self.key(cls)
            if not isinstance(key, str) or not key:
                raise InputError(f"a {self.kind} registers under a non-empty name, got {key!r}")
            held = self.get(key)
            if held is not None and held is not cls:
                raise InputError(f"the {self.kind} name {key!r} is taken by {held.__qualname__}")
            self._check(cls, key)
            self[key] = cls
            return cls

        return add if cls is None else add(cls)

    def _check(self, cls, key):
        """Hook: refuse a class whose declaration is unsound (a typed config...)."""

    def name_of(self, cls):
        """The name ``cls`` itself is registered under, or ``None`` (a subclass of a
        registered class is not registered by inheritance)."""
        for key, held in self.items():
            if held is cls:
                return key
        return None
