"""No import circles inside esm_schnet (issue 24, point 4).

Our own walk over the package's source (ast, no dependencies): every `import` and `from ...
import` of an esm_schnet module, at module level AND inside functions (a function-level import
still runs the other module when called; it only hides the circle from a module-level checker),
gives an edge "importer -> imported". `from pkg import name` is an edge to `pkg.name` when that is
a module of the package, else to `pkg` (its __init__). Imports under `if TYPE_CHECKING:` never run
and are left out, and so is `from esm_schnet import __version__`: the root __init__ assigns the
version first and imports none of its submodules at module level (checked below), so that import
never runs another module (its function-level imports, behind `load_model`/`predict`, are edges).
Every elementary cycle of that graph is reported with its path.

KNOWN lists the cycles that other work owns, each with the issue that removes it; any other cycle
fails the test. A known cycle that no longer exists only warns: drop it from the list.
"""

from __future__ import annotations

import ast
import warnings
from pathlib import Path

PACKAGE = "esm_schnet"
# (package, name) imports that are constants of an __init__ that imports nothing of its own
LEAF_NAMES = {(PACKAGE, "__version__")}
SRC = Path(__file__).resolve().parents[1] / "src" / PACKAGE

# Cycles that are known and owned elsewhere, as module paths (any rotation matches). None is left:
# a new entry needs the issue that removes it.
KNOWN: set[tuple[str, ...]] = set()


def module_name(path: Path, src: Path = SRC) -> str:
    parts = list(path.relative_to(src.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST):
    """Import nodes anywhere in the tree, except the bodies of `if TYPE_CHECKING:`."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def import_graph(src: Path = SRC) -> dict[str, set[str]]:
    """module -> the esm_schnet modules it imports (module level and in functions)."""
    files = {module_name(p, src): p for p in sorted(src.rglob("*.py"))}
    modules = set(files)
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for mod, path in files.items():
        is_pkg = path.name == "__init__.py"
        package = mod if is_pkg else mod.rpartition(".")[0]
        for node in _imports(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - (node.level - 1)]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                targets = [f"{target}.{a.name}" if f"{target}.{a.name}" in modules else target
                           for a in node.names if (target, a.name) not in LEAF_NAMES]
            for t in targets:
                while t and t not in modules:  # `import esm_schnet.a.b` of a name in a.b
                    t = t.rpartition(".")[0]
                if t and t != mod:
                    graph[mod].add(t)
    return graph


def _canonical(cycle: list[str]) -> tuple[str, ...]:
    i = cycle.index(min(cycle))
    return tuple(cycle[i:] + cycle[:i])


def find_cycles(graph: dict[str, set[str]], limit: int = 1000) -> list[tuple[str, ...]]:
    """Every elementary cycle (each once, starting at its smallest module name), by a depth-first
    search from each module over the modules greater than it (Johnson's ordering, no blocking:
    the graph is small)."""
    found: set[tuple[str, ...]] = set()
    nodes = sorted(graph)
    for start in nodes:
        stack = [(start, iter(sorted(graph[start])))]
        path = [start]
        on_path = {start}
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                stack.pop()
                on_path.discard(path.pop())
                continue
            if nxt == start:
                found.add(_canonical(list(path)))
                if len(found) >= limit:
                    return sorted(found)
            elif nxt > start and nxt not in on_path:
                path.append(nxt)
                on_path.add(nxt)
                stack.append((nxt, iter(sorted(graph[nxt]))))
    return sorted(found)


def _show(cycle) -> str:
    return " -> ".join([*cycle, cycle[0]])


def test_the_checker_sees_module_and_function_level_imports(tmp_path):
    pkg = tmp_path / PACKAGE
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from .sub import b\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "b.py").write_text("def f():\n    from ..c import x\n")
    (pkg / "c.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .d import y\n"
        "import esm_schnet.a\n")
    (pkg / "d.py").write_text("from . import c\n")
    graph = import_graph(pkg)
    assert graph[f"{PACKAGE}.a"] == {f"{PACKAGE}.sub.b"}
    assert graph[f"{PACKAGE}.sub.b"] == {f"{PACKAGE}.c"}
    assert graph[f"{PACKAGE}.c"] == {f"{PACKAGE}.a"}  # the TYPE_CHECKING import is left out
    assert find_cycles(graph) == [
        (f"{PACKAGE}.a", f"{PACKAGE}.sub.b", f"{PACKAGE}.c"),
    ]


def test_the_package_root_imports_nothing_at_module_level():
    # what lets `from esm_schnet import __version__` be a leaf
    tree = ast.parse((SRC / "__init__.py").read_text(encoding="utf-8"))
    assert not [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))
                and not (isinstance(n, ast.ImportFrom) and n.module == "__future__")]


def test_no_import_cycles_in_the_package():
    cycles = find_cycles(import_graph())
    known = {_canonical(list(c)) for c in KNOWN}
    new = [c for c in cycles if c not in known]
    stale = sorted(known - set(cycles))
    if stale:
        warnings.warn("known import cycles that no longer exist (drop them from KNOWN): "
                      + "; ".join(_show(c) for c in stale), stacklevel=1)
    assert not new, f"{len(new)} import cycle(s) in {PACKAGE}:\n" + "\n".join(map(_show, new))
