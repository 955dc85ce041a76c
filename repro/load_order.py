"""The order a copy writes its tables in: parents first, cycles broken at nullable foreign keys.

Rows of a deferred foreign key are written with that reference empty, then linked once every table is in
(see `repro.load.Loader.finish`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from repro.errors import PlanError
from repro.schema import ForeignKey, SchemaGraph


@dataclass
class LoadPlan:
    """Tables in load order (parents first) and the nullable foreign keys deferred to break cycles."""

    graph: SchemaGraph
    order: list[str]
    deferred: list[ForeignKey] = field(default_factory=list)

    def deferred_columns(self, table: str) -> list[str]:
        return [c for fk in self.deferred if fk.table == table for c in fk.columns]


def plan_load(graph: SchemaGraph, tables: Iterable[str]) -> LoadPlan:
    """Order tables so every parent is written before its children, deferring nullable FKs of cycles."""
    wanted = set(tables)
    edges = [
        fk for fk in graph.foreign_keys if fk.table in wanted and fk.ref_table in wanted and not fk.virtual
    ]
    deferred = [fk for fk in edges if fk.is_self_reference]
    for fk in deferred:
        if not fk.nullable:
            raise PlanError(f"cannot load {fk.table}: its self-reference {fk.label} is NOT NULL")
    remaining = [fk for fk in edges if not fk.is_self_reference]
    while True:
        order, cycle = _topological(wanted, remaining)
        if cycle is None:
            return LoadPlan(graph, order, deferred)
        breakable = [fk for fk in remaining if fk.table in cycle and fk.ref_table in cycle and fk.nullable]
        if not breakable:
            raise PlanError(
                f"cannot load the cycle {' -> '.join(sorted(cycle))}: none of its foreign keys is nullable"
            )
        # Break the cycle at its first nullable FK by table and columns: the same choice on every run.
        victim = sorted(breakable, key=lambda fk: (fk.table, fk.columns))[0]
        remaining.remove(victim)
        deferred.append(victim)


def _topological(tables: set[str], edges: list[ForeignKey]) -> tuple[list[str], set[str] | None]:
    parents: dict[str, set[str]] = {t: set() for t in tables}
    for fk in edges:
        parents[fk.table].add(fk.ref_table)
    order: list[str] = []
    done: set[str] = set()
    while len(done) < len(tables):
        ready = sorted(t for t in tables if t not in done and parents[t] <= done)
        if not ready:
            return order, _find_cycle({t: parents[t] - done for t in tables if t not in done})
        order.extend(ready)
        done.update(ready)
    return order, None


def _find_cycle(parents: dict[str, set[str]]) -> set[str]:
    start = sorted(parents)[0]
    path: list[str] = []
    node = start
    while node not in path:
        path.append(node)
        node = sorted(parents[node] & parents.keys())[0]
    return set(path[path.index(node) :])
