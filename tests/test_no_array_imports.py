"""The math and the training import no array library, directly or indirectly.

The purity line is drawn around the math, not around folders.  ``MATH`` names the
modules of the math and the training; they reach arrays through ``xp`` only.  Host
input/output (tables, row sources, model files) reads and writes host memory with
NumPy wherever it lives, and the backend adapters are where arrays are made.  The rule,
for every module in ``MATH``:

1. **Directly**: no statement of it, at import time or inside a function, imports an
   array library (``FORBIDDEN``: NumPy, CuPy, PyTorch, JAX, array-api-strict,
   array-api-compat, safetensors' NumPy layer), whether by ``import``, ``from ...
   import``, ``__import__`` or ``importlib.import_module``; an import whose name is not a
   string literal is refused too (it cannot be checked).
2. **Indirectly, in the sources**: the same holds for every bpnn module it imports, at
   import time or inside a function, and every module those import, and so on, up to
   the host boundary (``BOUNDARY``: the backend adapters, training data, model files,
   tables).  The math crosses that boundary only where ``CROSSINGS`` names the pair and
   says why; a new crossing fails this test.  The other libraries those modules import
   are the standard library's and the ones ``THIRD_PARTY`` names, each checked to import
   no array library itself.
3. **Indirectly, at run time**: in a fresh interpreter in which the array libraries
   cannot be imported (every attempt is recorded, even one that is caught) and the
   boundary packages are stand-ins, the module imports, together with the ``bpnn``
   package itself, which every import of a submodule runs.  This sees what the sources
   do not show: a library that imports NumPy on its own, an import built at run time.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import textwrap

import pytest

import bpnn
from import_graph import find_modules, import_graph, imported_names

#: The array libraries, and the modules of other libraries that are one.
FORBIDDEN = ("numpy", "cupy", "cupyx", "torch", "jax", "jaxlib", "array_api_strict",
             "array_api_compat", "safetensors.numpy", "safetensors.torch")

#: The math and the training, by module or by package (a package stands for every module
#: in it, so a new layer or callback file is checked without being named here).
MATH = ("bpnn.activations", "bpnn.losses", "bpnn.initializers", "bpnn.optimizers",
        "bpnn.registry", "bpnn.layers", "bpnn.network", "bpnn.builders", "bpnn.training",
        "bpnn.steps", "bpnn.callbacks", "bpnn.lbfgs", "bpnn.divergence", "bpnn.diagnostics",
        "bpnn.distributed", "bpnn.flat", "bpnn.update", "bpnn.caller")

#: The host boundary: the packages that may use an array library, and what they hold.
BOUNDARY = {
    "bpnn.backends": "the selector and the adapters: where arrays are made and moved",
    "bpnn.data": "training data: rows of arrays, memory maps and .npy files on the host",
    "bpnn.files": "model files and checkpoints: safetensors arrays on the host",
    "bpnn.tabular": "tables (CSV, Parquet, .npy) read on the host for the command line",
    "bpnn.export": "ONNX export: the weights as host constants of an ndonnx graph",
}

#: Where the math crosses the boundary, and why: ``(importer, boundary module)``.
CROSSINGS = {
    ("bpnn.network", "bpnn.backends"): "a network runs on a backend; it gets xp from it",
    ("bpnn.distributed", "bpnn.backends"): "each MPI rank picks its device's backend",
    ("bpnn.training", "bpnn.data"): "fit trains from arrays, files and batch iterators",
    ("bpnn.training", "bpnn.files"): "fit writes and resumes checkpoints",
    ("bpnn.training", "bpnn.files.checkpoint"): "fit writes and resumes checkpoints",
}

#: Libraries other than the standard library's that the math imports (inside functions),
#: each checked by ``test_third_party_imports_no_array_library``.
THIRD_PARTY = {"tqdm": "tqdm.auto", "mpi4py": "mpi4py.MPI"}

#: Modules that are neither math nor behind the boundary: the command line, the
#: scikit-learn estimators, plots and demos.  They may use NumPy through the libraries
#: they wrap; every module of bpnn is in MATH, BOUNDARY, OUTSIDE or reached from MATH.
OUTSIDE = ("bpnn", "bpnn.__main__", "bpnn._version", "bpnn.cli", "bpnn.commands",
           "bpnn.estimators", "bpnn.plot", "bpnn.demos", "bpnn.datasets")

MODULES = find_modules()
GRAPH = import_graph()
STANDARD_LIBRARY = frozenset(sys.stdlib_module_names) | {"__future__"}


def in_package(name, packages):
    """Whether module ``name`` is one of ``packages`` or inside one of them."""
    return any(name == package or name.startswith(package + ".") for package in packages)


def forbidden(name):
    """Whether importing ``name`` imports an array library (or cannot be checked)."""
    return name == "<computed>" or in_package(name, FORBIDDEN)


MATH_MODULES = sorted(name for name in MODULES if in_package(name, MATH))


def reached(graph=GRAPH):
    """``{module: the MATH module it is first reached from}``: the MATH modules and every
    bpnn module they import, directly or not, short of the boundary."""
    found = {name: name for name in MATH_MODULES}
    todo = list(MATH_MODULES)
    while todo:
        name = todo.pop()
        for target in sorted(graph[name]):
            if target not in found and not in_package(target, BOUNDARY):
                found[target] = found[name]
                todo.append(target)
    return found


REACHED = reached()


def names_of(module):
    path, is_package = MODULES[module]
    return imported_names(path.read_text(), module, is_package)


def test_math_is_named_and_found():
    named = [name for name in MATH if name not in MODULES]
    assert named == [], f"MATH names modules that do not exist: {named}"
    assert len(MATH_MODULES) > 20, MATH_MODULES


def test_every_module_is_placed():
    """A new module is math (checked), behind the boundary or outside, by a decision."""
    unplaced = [name for name in MODULES if name not in REACHED
                and not in_package(name, BOUNDARY) and name not in OUTSIDE
                and not in_package(name, [n for n in OUTSIDE if n != "bpnn"])]
    assert unplaced == [], f"place these modules in MATH, BOUNDARY or OUTSIDE: {unplaced}"


@pytest.mark.parametrize("module", sorted(REACHED))
def test_module_imports_no_array_library(module):
    """Rule 1 for the MATH modules, and rule 2 for every bpnn module they reach."""
    bad = [f"line {line}: {name}" for name, line in names_of(module) if forbidden(name)]
    assert bad == [], (f"{module} (reached from {REACHED[module]}) imports an array "
                       f"library: {bad}")
    roots = {name.split(".")[0] for name, _ in names_of(module)}
    unknown = sorted(roots - STANDARD_LIBRARY - {"bpnn"} - set(THIRD_PARTY))
    assert unknown == [], (f"{module} imports {unknown}: name them in THIRD_PARTY (once "
                           "checked to import no array library) or keep them off the math")


def test_math_crosses_the_boundary_only_where_named():
    crossings = {(name, target) for name in REACHED for target in GRAPH[name]
                 if in_package(target, BOUNDARY)}
    assert crossings - set(CROSSINGS) == set(), "new crossings of the host boundary"
    assert set(CROSSINGS) - crossings == set(), "CROSSINGS names a crossing that is gone"


#: Run in a fresh interpreter: refuse and record every import of an array library, give
#: stand-ins for the boundary packages, import the module, and print what was attempted.
PROBE = textwrap.dedent("""
    import importlib, importlib.abc, importlib.machinery, json, sys, traceback, types

    module, forbidden, boundary = sys.argv[1], sys.argv[2].split(","), sys.argv[3].split(",")
    within = lambda name, roots: any(name == r or name.startswith(r + ".") for r in roots)
    loaded = sorted(name for name in sys.modules if within(name, forbidden))
    attempts = []

    class StandIn(importlib.abc.Loader):
        def create_module(self, spec):
            stand_in = types.ModuleType(spec.name)
            stand_in.__path__ = []
            stand_in.__getattr__ = lambda name: type(name, (), {})
            return stand_in

        def exec_module(self, module):
            pass

    class Guard(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if within(name, forbidden):
                stack = [frame for frame in traceback.format_stack()[:-1]
                         if "<frozen" not in frame]
                attempts.append((name, "".join(stack[-6:])))
                raise ImportError(f"the purity test refuses to import {name}")
            if within(name, boundary):
                return importlib.machinery.ModuleSpec(name, StandIn(), is_package=True)
            return None

    sys.meta_path.insert(0, Guard())
    error = None
    try:
        if module == "mpi4py.MPI":  # loaded, not started: MPI_Init is no concern here
            import mpi4py
            mpi4py.rc.initialize = mpi4py.rc.finalize = False
        importlib.import_module(module)
    except BaseException:
        error = traceback.format_exc()
    print(json.dumps({"loaded_before": loaded, "attempts": attempts, "error": error,
                      "bpnn": sys.modules["bpnn"].__file__ if "bpnn" in sys.modules else None}))
""")


def probe(module, boundary=tuple(BOUNDARY)):
    """What importing ``module`` in a fresh interpreter tried to import (see ``PROBE``)."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("PYTHON", "BPNN_"))}
    done = subprocess.run([sys.executable, "-I", "-c", PROBE, module, ",".join(FORBIDDEN),
                           ",".join(boundary)], capture_output=True, text=True, env=env,
                          timeout=120, cwd=pathlib.Path(bpnn.__file__).parent.parent)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.parametrize("module", MATH_MODULES)
def test_module_imports_no_array_library_at_run_time(module):
    """Rule 3."""
    result = probe(module)
    assert result["loaded_before"] == [], "an array library was loaded before the probe"
    assert result["attempts"] == [], "\n".join(f"{module} imported {name} through:\n{stack}"
                                               for name, stack in result["attempts"])
    assert result["error"] is None, result["error"]
    assert result["bpnn"] == bpnn.__file__, "the probe imported another copy of bpnn"


@pytest.mark.parametrize("library", sorted(THIRD_PARTY.values()))
def test_third_party_imports_no_array_library(library):
    pytest.importorskip(library.split(".")[0])
    result = probe(library)
    assert result["attempts"] == [] and result["error"] is None, result


# -- the detectors can fail -----------------------------------------------------------
def test_static_detector_catches_every_form():
    source = textwrap.dedent("""
        import numpy as np
        from torch import nn
        from safetensors import numpy
        def f():
            import cupy.linalg
            importlib.import_module("jax.numpy")
            __import__("array_api_strict")
            importlib.import_module(name)
    """)
    found = {name for name, _ in imported_names(source) if forbidden(name)}
    assert found == {"numpy", "torch", "torch.nn", "safetensors.numpy", "cupy.linalg",
                     "jax.numpy", "array_api_strict", "<computed>"}


def test_indirect_import_is_reached():
    graph = {name: set(targets) for name, targets in GRAPH.items()}
    graph["bpnn.flat"].add("bpnn.plot")  # the math imports a module off the math
    assert reached(graph)["bpnn.plot"] == "bpnn.flat"


def test_run_time_detector_catches_an_indirect_import():
    # bpnn.estimators is off the math: importing it imports scikit-learn, hence NumPy
    result = probe("bpnn.estimators")
    assert any(name == "numpy" for name, _ in result["attempts"]), result
