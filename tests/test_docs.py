"""The examples in the README and the package docstring run as written."""

from __future__ import annotations

import pathlib
import re

import pytest

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_examples():
    assert len(BLOCKS) >= 3


def test_readme_examples_run_in_order():
    pytest.importorskip("torch", reason="the README's layer-by-layer example runs on PyTorch")
    namespace = {}
    for block in BLOCKS:
        exec(compile(block, str(README), "exec"), namespace)  # noqa: S102 - our own README
    assert namespace["history"]["loss"][-1] < namespace["history"]["loss"][0]
    assert len(namespace["grads"]) == len(namespace["net"].parameters)


def test_docstring_examples_run():
    """Every ``>>>`` example in bpnn's modules runs and prints what it shows."""
    import doctest
    import importlib
    import pkgutil

    import bpnn

    attempted = 0
    for info in pkgutil.walk_packages(bpnn.__path__, prefix="bpnn."):
        if info.name.endswith("__main__"):  # running it is running the command
            continue
        module = importlib.import_module(info.name)
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0, info.name
        attempted += result.attempted
    result = doctest.testmod(bpnn, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted >= 4 and attempted >= 12
