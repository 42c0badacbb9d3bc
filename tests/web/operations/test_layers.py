"""Where the web app's work happens (issue 16): one place commits, entry points hold no SQL,
and no two web modules import each other round in a circle.

A change that commits somewhere else can save half of what a use case meant to save (its
rollback on error, its lock order and its retries live in `web.operations.unit`); SQL in a
view or a command is a use case no other entry point can call, and no test can call without
a request; an import cycle makes the layers' order meaningless.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import grimp

import web

WEB = Path(web.__file__).resolve().parent
ROOT = WEB.parent
ONLY_COMMITTER = WEB / "operations" / "unit.py"
ENTRY_POINTS = (WEB / "views", WEB / "commands")


def _modules(under: Path) -> Iterator[tuple[Path, ast.Module]]:
    for path in sorted(under.rglob("*.py")):
        if "migrations" in path.relative_to(WEB).parts:
            continue
        yield path, ast.parse(path.read_text("utf-8"), filename=str(path))


def _where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"


def test_only_the_unit_of_work_commits() -> None:
    found = [
        _where(path, node)
        for path, tree in _modules(WEB)
        if path != ONLY_COMMITTER
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "commit"
    ]
    assert found == [], "commit through web.operations.unit.transaction: " + ", ".join(found)


def _is_db_session(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "session"
        and isinstance(node.value, ast.Name)
        and node.value.id == "db"
    )


def _imports_sqlalchemy(node: ast.AST) -> bool:
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    elif isinstance(node, ast.ImportFrom):
        names = [node.module or ""]
    else:
        return False
    return any(n.split(".")[0] in ("sqlalchemy", "flask_sqlalchemy") for n in names)


def _session_uses(tree: ast.Module) -> Iterator[ast.AST]:
    """`db.session` and imports of SQLAlchemy."""
    for node in ast.walk(tree):
        if _is_db_session(node) or _imports_sqlalchemy(node):
            yield node


def test_views_and_commands_hold_no_sql() -> None:
    found = [
        _where(path, node)
        for under in ENTRY_POINTS
        for path, tree in _modules(under)
        for node in _session_uses(tree)
    ]
    assert found == [], "move the query or the change into web/operations or web/db: " + (
        ", ".join(found)
    )


def test_no_import_cycle_among_web_modules() -> None:
    graph = grimp.build_graph("web", cache_dir=None)
    modules = sorted(m for m in graph.modules if not m.startswith("web.migrations"))
    cycles = set()
    for module in modules:
        for imported in graph.find_modules_directly_imported_by(module):
            if imported == module or imported.startswith("web.migrations"):
                continue
            back = graph.find_shortest_chain(importer=imported, imported=module)
            if back is not None:
                cycles.add(" -> ".join((module, *back)))
    assert sorted(cycles) == []
