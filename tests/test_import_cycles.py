"""No import cycles among bpnn's modules, at import time or inside functions.

The graph is read from the sources (``import_graph.py``): an edge for every bpnn module
a module imports, in its body or in a function's, and for the packages that import
runs first.  A cycle that only a function-level import keeps from failing is a cycle
all the same: the two modules cannot be understood, tested or changed one without the
other.  Where a module lower down needs one higher up (``Network.save`` and
``Network.fit``, an adapter that asks the selector for a backend), the higher one
registers itself with the lower one when it is imported.
"""

from __future__ import annotations

from import_graph import import_graph, strongly_connected


def cycles(graph):
    return [component for component in strongly_connected(graph) if len(component) > 1]


def test_no_import_cycles_at_import_time():
    assert cycles(import_graph(import_time_only=True)) == []


def test_no_import_cycles_through_function_level_imports():
    assert cycles(import_graph()) == []


def test_a_cycle_is_found():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert cycles(graph) == [["a", "b", "c"]]
    assert sorted(map(tuple, strongly_connected(graph))) == [("a", "b", "c"), ("d",), ("e",)]


def test_the_graph_holds_function_level_imports():
    graph, import_time = import_graph(), import_graph(import_time_only=True)
    # bpnn.distributed picks an MPI rank's backend inside a function only
    assert "bpnn.backends" in graph["bpnn.distributed"]
    assert "bpnn.backends" not in import_time["bpnn.distributed"]
