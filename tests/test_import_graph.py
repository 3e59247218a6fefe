"""No import circles in ``src/facesearch``.

The rule: an edge ``a -> b`` is an import statement of module ``a``'s source that names
module ``b`` (``import b``; ``from b import x`` when ``x`` is a name ``b`` defines;
``from pkg import b`` when ``pkg.b`` is a module is an edge to ``pkg.b``, not to ``pkg``),
at module level or inside an ``if`` block at module level (so
``if TYPE_CHECKING:`` imports count: a circle that only type checking closes is still one
a reader must untangle). Imports inside functions and methods do not count: they run
when called, not at import. Relative imports are resolved against the module's package.
Importing ``pkg.mod`` also imports ``pkg`` (its ``__init__``), but that implicit edge is
not counted, only what the source names. The test fails naming the first circle found.
"""

from __future__ import annotations

import ast
from pathlib import Path

import facesearch

PACKAGE = Path(facesearch.__file__).parent


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _top_level_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Import statements at module level, also inside module-level ``if``/``try`` blocks."""
    found: list[ast.Import | ast.ImportFrom] = []
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        node = pending.pop(0)
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        elif isinstance(node, ast.If):
            pending += node.body + node.orelse
        elif isinstance(node, ast.Try):
            pending += node.body + node.orelse + node.finalbody
            for handler in node.handlers:
                pending += handler.body
    return found


def _edges(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in _top_level_imports(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name in modules}
            continue
        base = node.module or ""
        if node.level:
            anchor = package.split(".")
            anchor = anchor[: len(anchor) - (node.level - 1)]
            base = ".".join([*anchor, base] if base else anchor)
        for alias in node.names:
            if f"{base}.{alias.name}" in modules:  # a submodule
                out.add(f"{base}.{alias.name}")
            elif base in modules:  # a name the module (or package __init__) defines
                out.add(base)
    out.discard(name)
    return out


def _import_graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _edges(name, path, modules) for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A circle of ``graph`` as a path ``[a, b, ..., a]``, or ``None`` (depth-first)."""
    state: dict[str, int] = {}  # 1: on the stack, 2: done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)) is not None:
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)) is not None:
            return cycle
    return None


def test_find_cycle_names_a_circle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_the_graph_sees_type_checking_and_relative_imports() -> None:
    graph = _import_graph()
    assert "facesearch.service.index_sync" in graph["facesearch.service.facesearch"]
    assert "facesearch.store.records" in graph["facesearch.store"]  # from ... import (...)
    assert len(graph) > 100


def test_no_import_circles_in_the_package() -> None:
    cycle = find_cycle(_import_graph())
    assert cycle is None, "import circle: " + " -> ".join(cycle or [])
