"""No import circles between fpgaml's modules.

The graph is built from the source with :mod:`ast`, without importing anything: an edge A -> B for every
module-level ``import`` / ``from ... import`` in A that names B (relative imports resolved; ``from pkg import
name`` names the submodule ``pkg.name`` when there is one, else ``pkg`` itself). Importing ``a.b.c`` also runs
the ``__init__`` of ``a.b``, so that package is an edge too, unless A is inside it (or is it): a package's
``__init__`` importing its own submodules, and a submodule importing a sibling, are not circles, since Python
has the package in ``sys.modules`` already.

Imports inside functions are lazy (they run when the function is called, after every module is loaded): only
module-level imports can fail at import time, so :func:`test_no_import_circles` ignores them, as it ignores
imports under ``if TYPE_CHECKING:``. fpgaml keeps its heavy imports (hls4ml, TensorFlow, da4ml) inside
functions for start-up time, but a lazy import is not a licence for a circle (``config.schema`` <->
``sweep.grid`` and ``regress`` <-> ``sweep.fanout`` were such circles): :func:`test_no_circles_through_lazy_imports`
checks every import.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / 'fpgaml'


def _modules() -> dict[str, Path]:
    """Every module of the package: dotted name -> file (a package is its ``__init__.py``)."""
    out = {}
    for path in sorted(ROOT.rglob('*.py')):
        parts = path.relative_to(ROOT.parent).with_suffix('').parts
        if parts[-1] == '__init__':
            parts = parts[:-1]
        out['.'.join(parts)] = path
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == 'TYPE_CHECKING') or (
        isinstance(test, ast.Attribute) and test.attr == 'TYPE_CHECKING'
    )


def _every_import(body: list[ast.stmt]):
    """Every import statement of a module, lazy ones (in functions) included."""
    for node in ast.walk(ast.Module(body=body, type_ignores=[])):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node


def _module_level_imports(body: list[ast.stmt]):
    """The import statements a module runs when it is imported (not those in functions)."""
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                yield from _module_level_imports(node.body)
            yield from _module_level_imports(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                yield from _module_level_imports(block)
        elif isinstance(node, (ast.With, ast.ClassDef)):
            yield from _module_level_imports(node.body)


def _targets(node, importer: str, is_package: bool, modules: dict) -> set[str]:
    """The fpgaml modules one import statement names."""
    if isinstance(node, ast.Import):
        return {a.name for a in node.names}
    base = node.module or ''
    if node.level:
        here = importer.split('.') if is_package else importer.split('.')[:-1]
        here = here[: len(here) - (node.level - 1)]
        base = '.'.join(here + ([base] if base else []))
    found = set()
    for alias in node.names:
        sub = f'{base}.{alias.name}'
        found.add(sub if sub in modules else base)
    return found


def _with_packages(target: str, importer: str, is_package: bool) -> set[str]:
    """``target`` and the packages whose ``__init__`` importing it runs, less those the importer is in."""
    initialising = {'.'.join(importer.split('.')[:i]) for i in range(1, importer.count('.') + 1)}
    if is_package:
        initialising.add(importer)
    parts = target.split('.')
    chain = {'.'.join(parts[:i]) for i in range(1, len(parts) + 1)}
    return chain - initialising


def import_graph(lazy: bool = False) -> dict[str, dict[str, int]]:
    """module -> {imported fpgaml module: line of the first import naming it}; ``lazy``: with the imports
    inside functions."""
    modules = _modules()
    statements = _every_import if lazy else _module_level_imports
    graph: dict[str, dict[str, int]] = {}
    for name, path in modules.items():
        is_package = path.name == '__init__.py'
        edges = graph.setdefault(name, {})
        for node in statements(ast.parse(path.read_text(), str(path)).body):
            for target in _targets(node, name, is_package, modules):
                for t in _with_packages(target, name, is_package):
                    if t in modules and t != name:
                        edges.setdefault(t, node.lineno)
    return graph


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """One shortest circle through each strongly connected component of more than one module."""
    return [_shortest_circle(graph, comp) for comp in components(graph)]


def components(graph: dict[str, dict[str, int]]) -> list[set[str]]:
    """The strongly connected components of more than one module: the modules that import each other."""
    index, low, stack, on_stack, comps = {}, {}, [], set(), []

    def connect(v):  # Tarjan's algorithm (the graph is small: recursion is fine)
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, {}):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(comp)

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return comps


def _shortest_circle(graph, comp: set[str]) -> list[str]:
    """The shortest circle inside one component (breadth-first from each of its modules)."""
    best = None
    for start in sorted(comp):
        parent, frontier, depth = {start: None}, [start], 1  # (depth: modules on the paths to the frontier)
        while frontier and (best is None or depth + 1 < len(best)):
            nxt = []
            for v in frontier:
                for w in sorted(graph[v]):
                    if w == start:
                        circle = _path(parent, v) + [start]
                        if best is None or len(circle) < len(best):
                            best = circle
                    elif w in comp and w not in parent:
                        parent[w] = v
                        nxt.append(w)
            frontier, depth = nxt, depth + 1
    return best


def _path(parent: dict, v: str) -> list[str]:
    out = []
    while v is not None:
        out.append(v)
        v = parent[v]
    return out[::-1]


def _describe(graph, circle: list[str]) -> str:
    hops = [f'{a} (line {graph[a][b]})' for a, b in zip(circle, circle[1:])]
    return ' -> '.join(hops + [circle[-1]])


def test_the_graph_sees_module_level_imports_only():
    graph = import_graph()
    assert 'fpgaml.config.schema' in graph['fpgaml.config']  # a package's __init__ importing its submodule
    assert 'fpgaml.config' not in graph['fpgaml.config.schema']  # ... which is in the package: no edge back
    assert 'fpgaml.errors' in graph['fpgaml.parallel']
    assert 'fpgaml.project' not in graph['fpgaml.parallel']  # (imports in functions are lazy)


def _report(graph, comps: list[set[str]], module_level=None) -> str:
    """Each component: its shortest circle and (``module_level`` given) the lazy imports that close it."""
    out = []
    for comp in comps:
        out.append(_describe(graph, _shortest_circle(graph, comp)))
        if module_level is not None:
            out += [
                f'    lazy: {a} (line {line}) -> {b}'
                for a in sorted(comp)
                for b, line in sorted(graph[a].items())
                if b in comp and b not in module_level[a]
            ]
    return '\n'.join(out)


def test_no_import_circles():
    graph = import_graph()
    assert not components(graph), 'import circles (module-level imports):\n' + _report(graph, components(graph))


def test_no_circles_through_lazy_imports():
    graph = import_graph(lazy=True)
    comps = components(graph)
    assert not comps, 'import circles (lazy imports included):\n' + _report(graph, comps, import_graph())


def test_relative_imports_and_submodules_resolve_to_modules():
    modules = {'p': None, 'p.q': None, 'p.q.r': None, 'p.s': None}
    (rel_sibling,), (rel_up,), (sub,) = (
        ast.parse(t).body for t in ('from .r import x', 'from .. import s', 'from p.q import r, y')
    )
    assert _targets(rel_sibling, 'p.q.t', False, modules) == {'p.q.r'}
    assert _targets(rel_sibling, 'p.q', True, modules) == {'p.q.r'}  # (in a package's __init__, "." is itself)
    assert _targets(rel_up, 'p.q.t', False, modules) == {'p.s'}
    assert _targets(sub, 'p.s', False, modules) == {'p.q.r', 'p.q'}  # a submodule, and a name of the package
    assert _with_packages('p.q.r', 'p.s', False) == {'p.q', 'p.q.r'}  # p.q's __init__ runs first; p is loading


def test_a_circle_is_found_and_named():
    graph = {'a': {'b': 3}, 'b': {'c': 5}, 'c': {'a': 7, 'd': 1}, 'd': {}}
    assert cycles(graph) == [['a', 'b', 'c', 'a']]
    assert _describe(graph, ['a', 'b', 'c', 'a']) == 'a (line 3) -> b (line 5) -> c (line 7) -> a'
