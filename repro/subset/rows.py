"""What a walk keeps per table (one key per row, see `TableRows`), and reading the rows back afterwards.

`iter_rows` streams the rows of the tables held back during the walk, table by table, in batches, by primary
key; `detached_references` decides which references of theirs are written as NULL (skipped edges).
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection

from repro.schema import SchemaGraph
from repro.subset.fetch import fetch_chunks
from repro.subset.plan import SubsetPlan

Key = tuple[Any, ...]


@dataclass
class TableRows:
    """The rows of one table in the subset, by key: the primary key value (bare for a one-column key, a tuple
    otherwise), or for a table without primary key the row itself (see `row_identity`).

    Only keys are kept, plus the tracked values of each row where a later step needs more than the key (a
    foreign key pointing at non-key columns, or no primary key): memory grows by a key per row.
    """

    table: str
    pk: tuple[str, ...]
    tracked: tuple[str, ...]
    keep_values: bool = False
    keys: set[Any] = field(default_factory=set)
    down: set[Any] | None = None  # keys reached downward; None while that is every key (no second set)
    values: dict[Any, tuple[Any, ...]] = field(default_factory=dict)  # key -> tracked values (keep_values)

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def down_count(self) -> int:
        """How many rows were reached downward (depend on the root), not only as parents."""
        return len(self.keys) if self.down is None else len(self.down)

    @property
    def bare(self) -> bool:
        return len(self.pk) == 1

    def key_tuples(self) -> list[Key]:
        """The keys as tuples (one value per primary-key column, or the row's values), in a stable order."""
        keys = sorted_keys(self.keys)
        return [(k,) for k in keys] if self.bare else keys

    def key_function(self, columns: Sequence[str]) -> Callable[[tuple[Any, ...]], Any]:
        """row (holding `columns`) -> its key."""
        if not self.pk:
            to_tracked = tuple_of(columns, self.tracked)
            return lambda row: row_identity(to_tracked(row))
        if self.bare:
            return operator.itemgetter(list(columns).index(self.pk[0]))
        return tuple_of(columns, self.pk)

    def column_values(self, keys: set[Any], columns: Sequence[str]) -> set[Any]:
        """The distinct values of `columns` (bare for one column, else tuples) of the collected rows `keys`,
        without NULL references (MATCH SIMPLE)."""
        if tuple(columns) == self.pk:
            return keys  # keys are never NULL
        found = set(map(tuple_of(self.tracked, columns, bare=True), map(self.values.__getitem__, keys)))
        return without_null(found, len(columns))


@dataclass
class Subset:
    """What a walk collected: the keys per table and the rows each edge brought in."""

    root_table: str
    root_value: Any
    tables: dict[str, TableRows]
    # (edge label, direction) -> rows new to the subset that the edge brought in
    edge_rows: dict[tuple[str, str], int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(map(len, self.tables.values()))

    def counts(self) -> dict[str, int]:
        return {name: len(t) for name, t in sorted(self.tables.items()) if t}


def tracked_columns(graph: SchemaGraph, plan: SubsetPlan, table: str) -> tuple[str, ...]:
    """Key columns of a table that traversal needs: its PK, its FK columns, the columns FKs point at."""
    info = graph.table(table)
    if not info.primary_key:
        return tuple(info.columns)  # no primary key: the whole row is its identity
    wanted = list(info.primary_key)
    for edge in plan.edges:
        for cols in ((edge.fk.columns,) if edge.fk.table == table else ()) + (
            (edge.fk.ref_columns,) if edge.fk.ref_table == table else ()
        ):
            wanted.extend(c for c in cols if c not in wanted)
    if plan.root_table == table and plan.root_key not in wanted:
        wanted.append(plan.root_key)
    return tuple(wanted)


def table_rows(graph: SchemaGraph, plan: SubsetPlan, table: str) -> TableRows:
    """A table's record; its rows' values are kept only if a step after the row's own needs more than the key:
    child edges out of it, or skipped references to it, that point at non-key columns."""
    pk = graph.table(table).primary_key
    tracked = tracked_columns(graph, plan, table)
    later = [e.fk.ref_columns for e in plan.child_edges if e.fk.ref_table == table]
    later += [
        fk.ref_columns
        for fk in plan.skipped
        if fk.ref_table == table and fk.nullable and all(c in tracked for c in fk.ref_columns)
    ]
    keep = not pk or any(tuple(cols) != pk for cols in later)
    return TableRows(table, pk, tracked, keep_values=keep)


def without_null(values: set[Any], width: int) -> set[Any]:
    """References without NULL (a composite reference holding a NULL is not followed: MATCH SIMPLE)."""
    if width == 1:
        values.discard(None)
        return values
    return {v for v in values if None not in v}


def tuple_of(
    columns: Sequence[str], wanted: Sequence[str], *, bare: bool = False
) -> Callable[[tuple[Any, ...]], Any]:
    """row (in `columns` order) -> the tuple of its `wanted` values (with `bare`, one column's value alone)."""
    positions = [list(columns).index(c) for c in wanted]
    if len(positions) == 1 and not bare:
        i = positions[0]
        return lambda row: (row[i],)
    return operator.itemgetter(*positions)


def row_identity(row: tuple[Any, ...]) -> Key:
    """The key of a row of a table without a primary key: all its values, JSON documents and arrays (dicts,
    lists) by their canonical text so the key is hashable."""
    return tuple(json.dumps(v, sort_keys=True, default=str) if isinstance(v, dict | list) else v for v in row)


def _sort_key(value: Any) -> tuple[Any, ...]:
    return tuple((x is None, str(type(x)), x) for x in (value if isinstance(value, tuple) else (value,)))


def sorted_keys(keys: Iterable[Any]) -> list[Any]:
    """Keys (bare values or tuples) in a stable order (plain comparison, or by type first when the values do
    not compare)."""
    try:
        return sorted(keys)
    except TypeError:
        return sorted(keys, key=_sort_key)


def streamed_tables(graph: SchemaGraph, plan: SubsetPlan) -> set[str]:
    """Tables whose rows can be handed on as soon as they are found: all but those with a skipped nullable
    foreign key, whose value depends on whether the referenced row ends up in the copy (see `iter_rows`)."""
    held = {fk.table for fk in plan.skipped if fk.nullable}
    return {t for t in plan.tables if t not in held}


def detached_references(
    graph: SchemaGraph, plan: SubsetPlan, subset: Subset, table: str
) -> list[tuple[list[int], set[tuple[Any, ...]]]]:
    """Skipped nullable foreign keys of `table`: (column positions, parent values that are part of the copy).

    A skipped edge is never followed, so its parent may not be copied; such references are written as NULL
    unless the referenced row is in the copy anyway.
    """
    columns = graph.table(table).columns
    result = []
    for fk in plan.skipped:
        if fk.table != table or not fk.nullable:
            continue
        parent = subset.tables.get(fk.ref_table)
        present: set[tuple[Any, ...]] = set()
        if parent is not None and (
            fk.ref_columns == parent.pk
            or (parent.keep_values and all(c in parent.tracked for c in fk.ref_columns))
        ):
            present = parent.column_values(parent.keys, fk.ref_columns)
            if len(fk.ref_columns) == 1:
                present = {(v,) for v in present}
        result.append(([columns.index(c) for c in fk.columns], present))
    return result


def _detach(
    rows: list[tuple[Any, ...]], detached: list[tuple[list[int], set[tuple[Any, ...]]]]
) -> list[tuple[Any, ...]]:
    if not detached:
        return rows
    out = []
    for row in rows:
        values = list(row)
        for positions, present in detached:
            ref = tuple(values[i] for i in positions)
            if any(v is not None for v in ref) and ref not in present:
                for i in positions:
                    values[i] = None
        out.append(tuple(values))
    return out


def iter_rows(
    conn: Connection, graph: SchemaGraph, plan: SubsetPlan, subset: Subset, table: str, batch_size: int
) -> Iterator[tuple[tuple[str, ...], list[tuple[Any, ...]]]]:
    """Full rows of one table of the subset, `batch_size` at a time, in primary-key order."""
    rows = subset.tables[table]
    info = graph.table(table)
    columns = tuple(info.columns)
    detached = detached_references(graph, plan, subset, table)
    keys = sorted_keys(rows.keys)
    if not info.primary_key:
        order = [rows.tracked.index(c) for c in columns]
        all_rows = [tuple(rows.values[k][i] for i in order) for k in keys]
        for start in range(0, len(all_rows), batch_size):
            yield columns, _detach(all_rows[start : start + batch_size], detached)
        return
    for start in range(0, len(keys), batch_size):
        part = keys[start : start + batch_size]
        fetched = [
            r
            for chunk in fetch_chunks(
                conn, info.table, columns, info.primary_key, part, order_by=info.primary_key, bare=rows.bare
            )
            for r in chunk
        ]
        yield columns, _detach(fetched, detached)
