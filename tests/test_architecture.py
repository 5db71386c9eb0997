"""The package's layout holds: the root of ``artclf`` has commands and rooms only, the import
graph has no cycle (the floors themselves are the import-linter contract in ``make lint``),
every room says what it is for, and the README's "Where things live" names every room."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import grimp

import artclf

PACKAGE = Path(artclf.__file__).parent
README = PACKAGE.parents[1] / "README.md"
COMMANDS = {
    "train",
    "evaluate",
    "predict",
    "explain",
    "stylize",
    "describe",
    "report",
    "registry",
    "tune",
    "server",
    "serve",
    "monitor",
    "feedback",
}
ROOMS = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file())


def test_the_root_holds_commands_and_rooms_only() -> None:
    modules = {p.stem for p in PACKAGE.glob("*.py")} - {"__init__"}
    assert modules == COMMANDS


def test_every_room_says_what_it_is_for() -> None:
    for room in ROOMS:
        docstring = ast.get_docstring(ast.parse((PACKAGE / room / "__init__.py").read_text()))
        assert docstring, f"artclf/{room}/__init__.py has no docstring"


def strongly_connected(graph: grimp.ImportGraph) -> list[set[str]]:
    """Tarjan's components of more than one module: each is an import cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[set[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = set()
            while True:
                member = stack.pop()
                component.add(member)
                if member == module:
                    break
            if len(component) > 1:
                cycles.append(component)

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return cycles


def test_no_import_cycle() -> None:
    """Every import counts, those inside functions too (what grimp reads)."""
    assert strongly_connected(grimp.build_graph("artclf")) == []


def test_the_cycle_check_finds_a_cycle() -> None:
    graph = grimp.ImportGraph()
    for a, b in (("p.a", "p.b"), ("p.b", "p.c"), ("p.c", "p.a"), ("p.c", "p.d")):
        graph.add_import(importer=a, imported=b)
    assert strongly_connected(graph) == [{"p.a", "p.b", "p.c"}]


def test_the_readme_tree_names_every_room() -> None:
    section = README.read_text().split("### Where things live", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"^\s+(\w+)/", section, flags=re.MULTILINE))
    assert set(ROOMS) <= listed, f"missing from the README: {set(ROOMS) - listed}"
    assert listed - {"conf"} <= set(ROOMS) | {"tests", "faults"}
