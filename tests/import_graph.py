"""bpnn's modules and the imports between them, read from the sources with ``ast``.

Shared by the purity test (``test_no_array_imports.py``) and the import-cycle test
(``test_import_cycles.py``).  Module names are the installed ones: ``backends/`` is
the subpackage ``bpnn.backends``.
"""

from __future__ import annotations

import ast
import pathlib

import bpnn
import bpnn.backends


def package_roots():
    """``{package name: folder}`` of the two source folders of the distribution."""
    return {"bpnn": pathlib.Path(bpnn.__file__).parent,
            "bpnn.backends": pathlib.Path(bpnn.backends.__file__).parent}


def find_modules():
    """``{module name: (path, is_package)}`` for every module of bpnn."""
    modules = {}
    for package, folder in package_roots().items():
        for path in sorted(folder.rglob("*.py")):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            if is_package:
                parts = parts[:-1]
            modules[".".join([package, *parts])] = (path, is_package)
    return modules


def _absolute(module, is_package, level, target):
    """The absolute name of a ``level``-relative import of ``target`` in ``module``."""
    if level == 0:
        return target
    parts = module.split(".") if is_package else module.split(".")[:-1]
    parts = parts[:len(parts) - (level - 1)]
    return ".".join(parts + ([target] if target else []))


def _import_time_nodes(tree):
    """The nodes that run when the module is imported: the module body with its ``if``,
    ``try``, ``with`` and class bodies, but no function body."""
    nodes = []

    def visit(statements):
        for node in statements:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            nodes.extend(ast.walk(node) if not isinstance(node, (ast.If, ast.Try, ast.With,
                                                                   ast.ClassDef))
                         else [node])
            for field in ("body", "orelse", "finalbody", "handlers"):
                inner = getattr(node, field, None)
                if isinstance(inner, list):
                    visit(inner)
    visit(tree.body)
    return nodes


def _call_name(node):
    """``"import_module"``/``"__import__"`` for a call of either, else ``None``."""
    func = node.func
    name = func.id if isinstance(func, ast.Name) else \
        func.attr if isinstance(func, ast.Attribute) else None
    return name if name in ("import_module", "__import__") else None


def imported_names(source, module="", is_package=False, import_time_only=False):
    """Every module name ``source`` imports, with its line: ``import``, ``from ...
    import`` (the module and each ``module.name``, since a name may be a submodule),
    ``__import__("...")`` and ``importlib.import_module("...")``.  A call of those two
    whose name is not a string literal gives ``"<computed>"``: it cannot be checked.

    Returns
    -------
    list of (str, int)
    """
    tree = ast.parse(source)
    nodes = _import_time_nodes(tree) if import_time_only else ast.walk(tree)
    names = []
    for node in nodes:
        if isinstance(node, ast.Import):
            names += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(module, is_package, node.level, node.module)
            names.append((base, node.lineno))
            names += [(f"{base}.{alias.name}", node.lineno) for alias in node.names
                      if alias.name != "*"]
        elif isinstance(node, ast.Call) and _call_name(node):
            first = node.args[0] if node.args else None
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                text = first.value
                level = len(text) - len(text.lstrip("."))
                names.append((_absolute(module, is_package, level, text[level:] or None)
                              if level else text, node.lineno))
            else:
                names.append(("<computed>", node.lineno))
    return names


def import_graph(import_time_only=False):
    """``{module: {bpnn modules it imports}}`` over every module of bpnn.

    An import of ``a.b.c`` runs the packages ``a`` and ``a.b`` first, so it is an edge
    to each of them as well, except to the importing module's own enclosing packages
    (they are being imported already: that is no new dependency).
    """
    modules = find_modules()
    graph = {name: set() for name in modules}
    for name, (path, is_package) in modules.items():
        for target, _ in imported_names(path.read_text(), name, is_package, import_time_only):
            parts = target.split(".")
            for end in range(1, len(parts) + 1):
                prefix = ".".join(parts[:end])
                if prefix in modules and prefix != name and not name.startswith(prefix + "."):
                    graph[name].add(prefix)
    return graph


def strongly_connected(graph):
    """The strongly connected components of ``graph`` (Tarjan's algorithm, iterative),
    each a sorted list; a component of more than one module is an import cycle."""
    index, low, on_stack, stack, components = {}, {}, set(), [], []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph[successor]))))
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    components.append(sorted(component))
    return components
