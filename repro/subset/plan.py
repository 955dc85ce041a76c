"""Which foreign-key edges a copy follows, in which direction, from the schema alone.

Semantics (DESIGN.md): from the root rows follow child edges transitively downward; from every collected row
follow parent edges transitively; never follow child edges out of a row reached only as a parent; child edges
never lead back into the root table. `subset.skip` removes edges, `subset.follow` lets a child edge be followed
out of parent-only rows too.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from repro.config import SubsetSettings
from repro.errors import ConfigError
from repro.schema import ForeignKey, SchemaGraph


@dataclass(frozen=True)
class Edge:
    """One traversal step: `direction` is 'child' (fk.table rows that reference collected fk.ref_table rows)
    or 'parent' (fk.ref_table rows referenced by collected fk.table rows)."""

    fk: ForeignKey
    direction: str
    forced: bool = False

    @property
    def source_table(self) -> str:
        return self.fk.ref_table if self.direction == "child" else self.fk.table

    @property
    def target_table(self) -> str:
        return self.fk.table if self.direction == "child" else self.fk.ref_table

    def describe(self) -> str:
        arrow = "children" if self.direction == "child" else "parents"
        return f"{self.fk.label} ({arrow}{', forced' if self.forced else ''})"


@dataclass
class SubsetPlan:
    """The edges a copy follows from the root table, and the tables it may touch."""

    root_table: str
    root_key: str
    child_edges: list[Edge]
    parent_edges: list[Edge]
    skipped: list[ForeignKey]
    down_tables: set[str] = field(default_factory=set)  # tables whose rows can be reached downward
    tables: set[str] = field(default_factory=set)  # every table the copy may touch

    @property
    def edges(self) -> list[Edge]:
        return self.child_edges + self.parent_edges

    def child_edges_from(self, table: str, *, forced_only: bool = False) -> list[Edge]:
        return [e for e in self.child_edges if e.fk.ref_table == table and (e.forced or not forced_only)]

    def parent_edges_from(self, table: str) -> list[Edge]:
        return [e for e in self.parent_edges if e.fk.table == table]


def _matches(fk: ForeignKey, refs: set[str]) -> bool:
    return fk.ref in refs or any(f"{fk.table}.{c}" in refs for c in fk.columns)


def _validate_refs(graph: SchemaGraph, refs: tuple[str, ...], key: str) -> None:
    for ref in refs:
        table, _, column = ref.partition(".")
        if table not in graph.tables:
            raise ConfigError(f"subset.{key}: table '{table}' does not exist in the source schema")
        cols = column.strip("()").split(",")
        for col in cols:
            if col.strip() not in graph.tables[table].columns:
                raise ConfigError(f"subset.{key}: column '{table}.{col.strip()}' does not exist")
        if not any(_matches(fk, {ref}) for fk in graph.foreign_keys):
            raise ConfigError(
                f"subset.{key}: '{ref}' is not a foreign key (declare it in virtual_foreign_keys)"
            )


def plan_subset(graph: SchemaGraph, root_table: str, root_key: str, subset: SubsetSettings) -> SubsetPlan:
    """Decide the edges and the tables reachable from the root table."""
    info = graph.table(root_table)
    if root_key not in info.columns:
        raise ConfigError(f"root key '{root_table}.{root_key}' does not exist in the source schema")
    _validate_refs(graph, subset.skip, "skip")
    _validate_refs(graph, subset.follow, "follow")
    skip, follow = set(subset.skip), set(subset.follow)
    active = [fk for fk in graph.foreign_keys if not _matches(fk, skip)]
    skipped = [fk for fk in graph.foreign_keys if _matches(fk, skip)]

    # Fixpoint: tables reachable downward (child edges from the root, never back into the root table, plus
    # forced edges out of any reached table), and every table reachable at all (parents of anything reached).
    down = {root_table}
    tables = {root_table}
    changed = True
    while changed:
        changed = False
        queue = deque(sorted(down))
        while queue:
            table = queue.popleft()
            for fk in active:
                if fk.ref_table == table and fk.table != root_table and fk.table not in down:
                    down.add(fk.table)
                    queue.append(fk.table)
        tables |= down
        queue = deque(sorted(tables))
        while queue:
            table = queue.popleft()
            for fk in active:
                if fk.table == table and fk.ref_table not in tables:
                    tables.add(fk.ref_table)
                    queue.append(fk.ref_table)
        for fk in active:
            if (
                _matches(fk, follow)
                and fk.ref_table in tables
                and fk.table != root_table
                and fk.table not in down
            ):
                down.add(fk.table)
                changed = True
    child_edges = [
        Edge(fk, "child", forced=_matches(fk, follow))
        for fk in active
        if fk.table != root_table
        and (fk.ref_table in down or _matches(fk, follow))
        and fk.ref_table in tables
    ]
    parent_edges = [Edge(fk, "parent") for fk in active if fk.table in tables]
    return SubsetPlan(root_table, root_key, child_edges, parent_edges, skipped, down, tables)
