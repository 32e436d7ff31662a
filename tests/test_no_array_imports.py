"""Nothing under bpnn/ imports an array library: the math reaches arrays through ``xp`` only."""

from __future__ import annotations

import ast
import pathlib

import pytest

import bpnn

FORBIDDEN = {"numpy", "cupy", "torch", "array_api_strict", "jax", "cupyx"}
PACKAGE = pathlib.Path(bpnn.__file__).parent
SOURCES = sorted(PACKAGE.rglob("*.py"))


def imported_roots(source):
    """Top-level module names of every import statement in ``source``."""
    roots = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "__import__":
            roots.update(arg.value.split(".")[0] for arg in node.args
                         if isinstance(arg, ast.Constant) and isinstance(arg.value, str))
    return roots


def test_package_sources_are_found():
    assert len(SOURCES) > 10, SOURCES


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_imports_no_array_library(path):
    assert imported_roots(path.read_text()) & FORBIDDEN == set()


def test_detector_catches_an_import():
    assert imported_roots("import numpy as np\nfrom torch import nn\n") == {"numpy", "torch"}
    assert imported_roots("x = __import__('cupy.linalg')") == {"cupy"}
