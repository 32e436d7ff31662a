"""Compare the CuPy stand-in's API with the real CuPy package; run by
``tests/test_cupy_standin.py`` in a child process that imports the real CuPy (which
imports without a GPU).  Prints one line per mismatch and exits 1 if there is any.

Checked: every public name of the stand-in's ``cupy``, ``cupy.cuda``,
``cupy.cuda.runtime`` and ``cupy.linalg`` exists in CuPy; functions have CuPy's
signature (parameter names, kinds and defaults); NumPy's scalar types and dtype tools
are the very objects CuPy exports; every member the stand-in's classes define exists
on CuPy's class and is of the same kind (a method, or an attribute or property).
"""

from __future__ import annotations

import inspect
import sys
import types

import cupy as real

import cupy_standin as standin
from cupy_standin import cuda, linalg, runtime
from cupy_standin.generate import clean, real_signature

METHOD_KINDS = {"method_descriptor", "cython_function_or_method", "function",
                "builtin_function_or_method", "wrapper_descriptor"}


def kind_of(member):
    """``"method"``, ``"classmethod"`` or ``"attribute"`` for a class member as
    ``inspect.getattr_static`` gives it."""
    name = type(member).__name__
    if name in ("classmethod", "classmethod_descriptor", "staticmethod"):
        return "classmethod"
    if name in METHOD_KINDS:
        return "method"
    return "attribute"


def parameters(signature_text):
    """The signature's parameters as ``(name, kind, default)``, from CuPy's text form."""
    namespace = {}
    exec(f"def f{signature_text}: pass", {"float": float, "int": int, "bool": bool}, namespace)
    return [(p.name, p.kind, p.default) for p in inspect.signature(namespace["f"]).parameters.values()]


def standin_parameters(function, drop_self=False):
    params = list(inspect.signature(function).parameters.values())
    if drop_self:
        params = params[1:]
    return [(p.name, p.kind, p.default) for p in params]


def compare_signature(where, ours, theirs_text, problems):
    if theirs_text is None:
        return
    theirs = parameters(clean(theirs_text))
    if ours != theirs:
        problems.append(f"{where}: signature {ours} differs from CuPy's {theirs}")


def check_functions(module, real_module, where, problems, enforced=None):
    for name in getattr(module, "__all__", None) or [n for n in vars(module)
                                                    if not n.startswith("_")]:
        ours = getattr(module, name)
        if isinstance(ours, types.ModuleType):
            continue
        if not hasattr(real_module, name):
            problems.append(f"{where}.{name}: not in CuPy")
            continue
        theirs = getattr(real_module, name)
        if isinstance(ours, type) or not callable(ours):
            if isinstance(theirs, type) and not isinstance(ours, type):
                problems.append(f"{where}.{name}: a class in CuPy, not here")
            continue
        if callable(theirs) and not isinstance(theirs, type):
            if enforced is not None and name in enforced:
                compare_signature(f"{where}.{name}", parameters(enforced[name]),
                                  real_signature(theirs), problems)
            elif getattr(ours, "__wrapped__", None) is None:
                compare_signature(f"{where}.{name}", standin_parameters(ours),
                                  real_signature(theirs), problems)


def check_class(ours, theirs, where, problems, instance=None):
    names = {name for name in vars(ours) if not name.startswith("_") or
             (name.startswith("__") and name.endswith("__") and name not in
              ("__module__", "__dict__", "__weakref__", "__doc__", "__init__", "__new__",
               "__qualname__", "__annotations__", "__firstlineno__", "__static_attributes__"))}
    if instance is not None:
        names |= {name for name in vars(instance) if not name.startswith("_")}
    for name in sorted(names):
        try:
            real_member = inspect.getattr_static(theirs, name)
        except AttributeError:
            problems.append(f"{where}.{name}: CuPy's {theirs.__name__} has no such member")
            continue
        if name.startswith("__") or name == "null":
            continue
        ours_member = vars(ours).get(name)
        ours_kind = "attribute" if ours_member is None else kind_of(ours_member)
        real_kind = kind_of(real_member)
        if ours_kind != real_kind:
            problems.append(f"{where}.{name}: a {ours_kind} here, a {real_kind} in CuPy")
        elif ours_kind == "method":
            compare_signature(f"{where}.{name}", standin_parameters(ours_member, True),
                              real_signature(real_member), problems)


def main():
    from cupy_standin._signatures import SIGNATURES

    problems = []
    check_functions(standin, real, "cupy", problems, SIGNATURES)
    for name in standin.TYPES:
        if getattr(standin, name) is not getattr(real, name):
            problems.append(f"cupy.{name}: not CuPy's object")
    check_functions(cuda, real.cuda, "cupy.cuda", problems)
    check_functions(runtime, real.cuda.runtime, "cupy.cuda.runtime", problems)
    check_functions(linalg, real.linalg, "cupy.linalg", problems)
    check_class(standin.ndarray, real.ndarray, "cupy.ndarray", problems)
    check_class(cuda.Device, real.cuda.Device, "cupy.cuda.Device", problems, cuda.Device(0))
    check_class(cuda.Stream, real.cuda.Stream, "cupy.cuda.Stream", problems)
    check_class(cuda.Event, real.cuda.Event, "cupy.cuda.Event", problems, cuda.Event())
    check_class(cuda.PinnedMemory, real.cuda.PinnedMemory, "cupy.cuda.PinnedMemory",
                problems, cuda.PinnedMemory(8))
    check_class(cuda.PinnedMemoryPointer, real.cuda.PinnedMemoryPointer,
                "cupy.cuda.PinnedMemoryPointer", problems, cuda.alloc_pinned_memory(8))
    if not issubclass(runtime.CUDARuntimeError, RuntimeError):
        problems.append("cupy.cuda.runtime.CUDARuntimeError: not a RuntimeError")
    for problem in problems:
        print(problem)
    print(f"checked the stand-in against CuPy {real.__version__}: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
