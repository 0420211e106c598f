"""Imports run one way: down the layers, never sideways, never in a circle.

Every import in olive's source counts (module level, inside functions, under
TYPE_CHECKING), read by tools/import_graph.py without running anything. A
package may import only packages of lower layers; the packages of one layer
are independent of each other. The order is written here and in
docs/architecture.md, and a test checks the two agree.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from tools import import_graph
from tools.import_graph import Import

#: olive's layers, lowest first. A new package gets a place here (and in the docs).
LAYERS: tuple[tuple[str, ...], ...] = (
    ("clock", "controls", "errors", "ids"),  # foundations: nothing of olive
    ("ami", "pacing", "phone"),  # the AMI protocol, the pacers, phone numbers: pure
    ("calls",),  # call tracking, and the vocabulary of calls: outcomes, call and agent states
    ("bench", "sim", "store"),  # the pacing bench (virtual time); the simulated PBX; the database
    ("contacts_import", "specs"),  # checked inputs: plans, campaigns, contact files
    ("campaign_file", "compliance", "demo"),  # the rules (dial guard, retry); the campaign file
    ("engine",),  # runs campaigns: decides, then does the I/O
    ("metrics",),  # reads the engine for Prometheus
    ("api",),  # the REST API and its web pages
    ("cli",),  # the olive command
)

LAYER = {unit: level for level, units in enumerate(LAYERS) for unit in units}


def wrong_way(found: list[Import], layer: dict[str, int]) -> list[str]:
    """Each import that runs up a layer or sideways, said with where it is written."""
    problems = []
    for imp in found:
        source, target = imp.source_unit, imp.target_unit
        if not source or not target or source == target:
            continue
        if layer[target] >= layer[source]:
            way = "sideways" if layer[target] == layer[source] else "up"
            problems.append(f"{imp}: {way}, from {source} (layer {layer[source]}) to {target} (layer {layer[target]})")
    return problems


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one package (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, set())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return groups


@pytest.fixture(scope="module")
def found() -> list[Import]:
    return import_graph.imports()


class TestLayers:
    def test_every_package_has_a_layer(self, found: list[Import]) -> None:
        units = set(import_graph.unit_edges(found))
        assert units - set(LAYER) == set(), "place the new package in LAYERS (and docs/architecture.md)"
        assert set(LAYER) - units == set(), "a package in LAYERS no longer exists"

    def test_no_import_runs_up_or_sideways(self, found: list[Import]) -> None:
        assert wrong_way(found, LAYER) == []

    def test_no_cycle_between_packages(self, found: list[Import]) -> None:
        assert cycles(import_graph.unit_edges(found)) == []

    def test_in_function_imports_are_seen(self, found: list[Import]) -> None:
        # olive.cli.demo imports the engine inside its command: the walk must see it.
        assert any(i.importer == "olive.cli.demo" and i.target_unit == "engine" for i in found)


class TestTheCheckItself:
    """The two checks catch what they are for (so a green run means something)."""

    def test_an_upward_import_is_named_with_where_it_is(self) -> None:
        up = Import("olive.compliance._guard", "olive.engine", "src/olive/compliance/_guard.py", 34)
        assert wrong_way([up], LAYER) == [
            "src/olive/compliance/_guard.py:34: olive.compliance._guard imports olive.engine: "
            "up, from compliance (layer 5) to engine (layer 6)"
        ]

    def test_a_sideways_import_is_refused(self) -> None:
        side = Import("olive.sim._core", "olive.store", "src/olive/sim/_core.py", 1)
        assert wrong_way([side], LAYER) == [
            "src/olive/sim/_core.py:1: olive.sim._core imports olive.store: sideways, from sim (layer 3) to store (layer 3)"
        ]

    def test_a_cycle_is_found(self) -> None:
        edges = {"api": {"web", "store"}, "web": {"api"}, "store": set(), "a": {"b"}, "b": {"c"}, "c": {"a"}}
        assert sorted(cycles(edges)) == [["a", "b", "c"], ["api", "web"]]


class TestDocs:
    def test_the_docs_list_the_same_layers(self) -> None:
        text = import_graph.DOC.read_text()
        rows = re.findall(r"^\| (\d+) \| ((?:`\w+`(?:, )?)+) \|", text, re.M)
        written = {int(level): tuple(re.findall(r"`(\w+)`", units)) for level, units in rows}
        assert written == dict(enumerate(LAYERS))

    def test_the_docs_picture_is_todays(self) -> None:
        assert import_graph.current() == import_graph.section(), "run: python tools/import_graph.py --write"


#: What builds SQL: a module outside olive.store importing one of these from SQLAlchemy
#: writes queries of its own (GUIDE: all SQL lives in store).
QUERY_BUILDERS = frozenset({
    "select", "insert", "update", "delete", "text", "func", "and_", "or_", "not_", "exists",
    "ColumnElement", "Select", "literal", "case", "union", "union_all",
})
#: Where SQL may live outside the store, by module: nowhere now (issue 14 moved the last,
#: the preview queries, into olive.store). Kept so that an exception, if one is ever
#: argued for, is written down here and checked to still be needed.
SQL_OUTSIDE_STORE_ALLOWED: frozenset[str] = frozenset()


def sql_outside_store(source: Path = import_graph.SOURCE) -> dict[str, list[str]]:
    """Each module outside olive.store that imports a query builder, with what and where."""
    found: dict[str, list[str]] = {}
    for name, path in import_graph.modules(source).items():
        if name == "olive.store" or name.startswith("olive.store."):
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "sqlalchemy":
                names = sorted(a.name for a in node.names if a.name in QUERY_BUILDERS)
                if names:
                    found.setdefault(name, []).append(f"line {node.lineno}: {', '.join(names)}")
            elif isinstance(node, ast.Import) and any(a.name.split(".")[0] == "sqlalchemy" for a in node.names):
                found.setdefault(name, []).append(f"line {node.lineno}: import sqlalchemy")
    return found


class TestSqlLivesInTheStore:
    def test_no_query_is_built_outside_the_store(self) -> None:
        offenders = {m: w for m, w in sql_outside_store().items() if m not in SQL_OUTSIDE_STORE_ALLOWED}
        assert offenders == {}, "move the query into a store repository"

    def test_the_allow_list_holds_only_modules_that_still_need_it(self) -> None:
        assert SQL_OUTSIDE_STORE_ALLOWED - set(sql_outside_store()) == set(), "drop them from the allow-list"

    def test_the_check_sees_a_query_builder(self, tmp_path: Path) -> None:
        pkg = tmp_path / "olive" / "api"
        pkg.mkdir(parents=True)
        (tmp_path / "olive" / "__init__.py").write_text("")
        (pkg / "__init__.py").write_text("")
        (pkg / "_x.py").write_text("def f():\n    from sqlalchemy import select, String\n")
        (pkg / "_y.py").write_text("from sqlalchemy.orm import Session\n")
        assert sql_outside_store(tmp_path) == {"olive.api._x": ["line 2: select"]}
