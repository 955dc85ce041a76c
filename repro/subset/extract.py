"""Which rows the plan reaches: batched key lookups inside the source's read-only transaction.

Phase 1 (`collect_subset`) walks the edges keeping only key columns (primary keys, foreign keys and the
columns foreign keys point at), so memory grows with the number of keys, not with row width. Phase 2
(`iter_rows`) streams full rows table by table, in batches, by primary key.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection

from repro.errors import ConfigError, NotFoundError, RowLimitError
from repro.schema import ForeignKey, SchemaGraph
from repro.subset.fetch import StatementCache, fetch_chunks
from repro.subset.plan import Edge, SubsetPlan

Key = tuple[Any, ...]


@dataclass
class TableRows:
    """The rows of one table in the subset: primary key -> values of the tracked (key) columns."""

    table: str
    pk: tuple[str, ...]
    tracked: tuple[str, ...]
    rows: dict[Key, tuple[Any, ...]] = field(default_factory=dict)
    down: set[Key] = field(default_factory=set)

    def project(self, key: Key, columns: Sequence[str]) -> tuple[Any, ...]:
        row = self.rows[key]
        return tuple(row[self.tracked.index(c)] for c in columns)

    def projector(self, columns: Sequence[str]) -> Callable[[tuple[Any, ...]], tuple[Any, ...]]:
        """A fast function row -> values of `columns` (rows as stored in `self.rows`)."""
        return _tuple_of(self.tracked, columns)


@dataclass
class Subset:
    root_table: str
    root_value: Any
    tables: dict[str, TableRows]
    edge_rows: dict[str, int] = field(default_factory=dict)  # edge label -> rows that edge brought in

    @property
    def total(self) -> int:
        return sum(len(t.rows) for t in self.tables.values())

    def counts(self) -> dict[str, int]:
        return {name: len(t.rows) for name, t in sorted(self.tables.items()) if t.rows}


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


def coerce_root_value(graph: SchemaGraph, table: str, column: str, value: Any) -> Any:
    """Command-line ids are strings: convert to the column's Python type, with a clear error."""
    coltype = graph.table(table).table.c[column].type
    try:
        python_type = coltype.python_type
    except NotImplementedError:
        return value
    if python_type is int and not isinstance(value, int):
        try:
            return int(str(value).strip())
        except ValueError:
            raise ConfigError(f"{table}.{column} is an integer column: {value!r} is not an integer") from None
    return value


RowSink = Callable[[str, tuple[str, ...], list[tuple[Any, ...]]], None]


class _Collector:
    def __init__(
        self,
        conn: Connection,
        graph: SchemaGraph,
        plan: SubsetPlan,
        max_rows: int,
        progress: Callable[[str], None] | None,
        sink: RowSink | None = None,
        batch_size: int = 5000,
    ) -> None:
        self.conn, self.graph, self.plan, self.max_rows = conn, graph, plan, max_rows
        self.progress = progress
        self.tables = {
            t: TableRows(t, graph.table(t).primary_key, tracked_columns(graph, plan, t)) for t in plan.tables
        }
        self.edge_rows: dict[str, int] = {}
        self.sink = sink
        self.batch_size = batch_size
        self.streamed = streamed_tables(graph, plan) if sink is not None else set()
        self.statements: StatementCache = {}

    def add(
        self,
        table: str,
        chunks: Iterable[list[tuple[Any, ...]]],
        *,
        down: bool,
        via: str,
        full_columns: tuple[str, ...] | None = None,
    ) -> tuple[set[Key], set[Key]]:
        """Add rows (lists of tuples, as `fetch_chunks` yields them); returns (keys new to the subset, keys
        that newly count as reached downward).

        Rows hold the tracked columns, or with `full_columns` every column: then the rows new to the subset
        go to the sink, and only their tracked columns are kept.
        """
        tr = self.tables[table]
        stored, down_keys = tr.rows, tr.down
        to_tracked = None
        if full_columns is not None and full_columns != tr.tracked:
            to_tracked = _tuple_of(full_columns, tr.tracked)
        new: set[Key] = set()
        new_down: set[Key] = set()
        step = self.batch_size
        for chunk in chunks:
            for start in range(0, len(chunk), step):
                part = chunk[start : start + step]
                tracked_rows = part if to_tracked is None else list(map(to_tracked, part))
                keys = _keys_of(tr, tracked_rows)
                batch = dict(zip(keys, tracked_rows, strict=True))
                if len(batch) == len(keys) and stored.keys().isdisjoint(batch):
                    stored.update(batch)  # the usual case: all new, no repeats (no per-row Python)
                    new.update(keys)
                    new_full = part
                else:
                    new_full = []
                    for key, row, full in zip(keys, tracked_rows, part, strict=True):
                        if key not in stored:
                            stored[key] = row
                            new.add(key)
                            new_full.append(full)
                if down:
                    reached = set(keys) - down_keys
                    down_keys |= reached
                    new_down |= reached
                if full_columns is not None and new_full:
                    self._emit(table, full_columns, new_full)
        if new:
            self.edge_rows[via] = self.edge_rows.get(via, 0) + len(new)
            total = sum(len(t.rows) for t in self.tables.values())
            if total > self.max_rows:
                raise RowLimitError(
                    f"the subset exceeds subset.max_rows ({self.max_rows}) while following {via}:"
                    f" it brought in {self.edge_rows[via]} rows of {table}; add it to subset.skip or raise max_rows"
                )
        return new, new_down

    def follow(self, edge: Edge, keys: set[Key]) -> tuple[set[Key], set[Key]]:
        fk = edge.fk
        src = self.tables[edge.source_table]
        dst = self.tables[edge.target_table]
        src_cols = fk.ref_columns if edge.direction == "child" else fk.columns
        dst_cols = fk.columns if edge.direction == "child" else fk.ref_columns
        src_rows = map(src.rows.__getitem__, keys)
        if len(src_cols) == 1:  # bare values, made 1-tuples once distinct
            bare = set(map(operator.itemgetter(src.tracked.index(src_cols[0])), src_rows))
            bare.discard(None)
            values = set(zip(bare))
        else:
            values = {v for v in map(src.projector(src_cols), src_rows) if None not in v}
        if edge.direction == "parent" and dst.pk and tuple(dst_cols) == dst.pk:
            values -= dst.rows.keys()  # parents already collected need no query
        if not values:
            return set(), set()
        info = self.graph.table(dst.table)
        down = edge.direction == "child"
        keys_in = sorted_keys(values)
        if dst.table not in self.streamed or (down and dst.rows and dst.pk):
            # Keys only: for tables read later, or whose rows were collected already (most may be known,
            # so whole rows are read for the new ones only).
            rows = fetch_chunks(self.conn, info.table, dst.tracked, dst_cols, keys_in, cache=self.statements)
            result = self.add(dst.table, rows, down=down, via=fk.label)
            if dst.table in self.streamed and result[0]:
                columns = tuple(info.columns)
                full = fetch_chunks(
                    self.conn,
                    info.table,
                    columns,
                    dst.pk,
                    sorted_keys(result[0]),
                    cache=self.statements,
                    array_chunk=self.batch_size,
                )
                for rows_part in full:
                    self._emit(dst.table, columns, rows_part)
        else:
            columns = tuple(info.columns)
            # Whole rows: as many keys per query as rows per batch, so a query's result stays small.
            rows = fetch_chunks(
                self.conn,
                info.table,
                columns,
                dst_cols,
                keys_in,
                cache=self.statements,
                array_chunk=self.batch_size,
            )
            result = self.add(dst.table, rows, down=down, via=fk.label, full_columns=columns)
        if self.progress is not None:
            self.progress(dst.table)
        return result

    def _emit(self, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
        assert self.sink is not None
        for start in range(0, len(rows), self.batch_size):
            self.sink(table, columns, rows[start : start + self.batch_size])

    def run(self, root_value: Any) -> Subset:
        plan = self.plan
        root = self.tables[plan.root_table]
        info = self.graph.table(plan.root_table)
        columns = tuple(info.columns) if plan.root_table in self.streamed else None
        rows = [
            r
            for chunk in fetch_chunks(
                self.conn, info.table, columns or root.tracked, [plan.root_key], [(root_value,)]
            )
            for r in chunk
        ]
        if not rows:
            raise NotFoundError(f"no row in {plan.root_table} with {plan.root_key} = {root_value!r}")
        new, new_down = self.add(
            plan.root_table,
            [rows],
            down=True,
            via=f"{plan.root_table}.{plan.root_key}",
            full_columns=columns,
        )
        pending_any: dict[str, set[Key]] = {plan.root_table: new}
        pending_down: dict[str, set[Key]] = {plan.root_table: new_down}
        # Rows found through a child edge point back, through the same foreign key, at rows already taken:
        # that parent edge is not followed from them.
        via_child: dict[tuple[str, ForeignKey], set[Key]] = {}
        while pending_any or pending_down:
            now_any, now_down, now_via = pending_any, pending_down, via_child
            pending_any, pending_down, via_child = {}, {}, {}
            steps: list[tuple[Edge, set[Key]]] = []
            for tname, keys in sorted(now_down.items()):
                steps += [(edge, keys) for edge in plan.child_edges_from(tname)]
            for tname, keys in sorted(now_any.items()):
                parent_only = keys - self.tables[tname].down
                steps += [(edge, parent_only) for edge in plan.child_edges_from(tname, forced_only=True)]
                for edge in plan.parent_edges_from(tname):
                    known = now_via.get((tname, edge.fk))
                    steps.append((edge, keys - known if known else keys))
            for edge, keys in steps:
                new, new_down = self.follow(edge, keys)
                if new:
                    pending_any.setdefault(edge.target_table, set()).update(new)
                    if edge.direction == "child":
                        via_child.setdefault((edge.target_table, edge.fk), set()).update(new)
                if new_down:
                    pending_down.setdefault(edge.target_table, set()).update(new_down)
        return Subset(plan.root_table, root_value, self.tables, self.edge_rows)


def _tuple_of(columns: Sequence[str], wanted: Sequence[str]) -> Callable[[tuple[Any, ...]], tuple[Any, ...]]:
    """row (in `columns` order) -> the tuple of its `wanted` values."""
    positions = [list(columns).index(c) for c in wanted]
    if len(positions) == 1:
        i = positions[0]
        return lambda row: (row[i],)
    getter = operator.itemgetter(*positions)
    return getter  # type: ignore[return-value]


def _keys_of(tr: TableRows, rows: list[tuple[Any, ...]]) -> list[Key]:
    """The key of each row (rows hold the table's tracked columns)."""
    if not tr.pk:
        return list(map(row_identity, rows))
    if len(tr.pk) == 1:
        return list(zip(map(operator.itemgetter(tr.tracked.index(tr.pk[0])), rows)))
    return list(map(tr.projector(tr.pk), rows))


def row_identity(row: tuple[Any, ...]) -> Key:
    """The key of a row of a table without a primary key: all its values, JSON documents and arrays (dicts,
    lists) by their canonical text so the key is hashable."""
    return tuple(json.dumps(v, sort_keys=True, default=str) if isinstance(v, dict | list) else v for v in row)


def _sort_key(value: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple((x is None, str(type(x)), x) for x in value)


def sorted_keys(keys: Iterable[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Keys in a stable order (plain comparison, or by type first when the values do not compare)."""
    try:
        return sorted(keys)
    except TypeError:
        return sorted(keys, key=_sort_key)


def collect_subset(
    conn: Connection,
    graph: SchemaGraph,
    plan: SubsetPlan,
    root_value: Any,
    *,
    max_rows: int,
    progress: Callable[[str], None] | None = None,
    sink: RowSink | None = None,
    batch_size: int = 5000,
) -> Subset:
    """Walk the plan's edges from the root row and return every collected row's keys.

    With a `sink`, the whole rows of the `streamed_tables` are read during the walk and handed to it as
    they are first found (in batches of at most `batch_size`), so they need no second read; the other
    tables' rows are read afterwards with `iter_rows`.
    """
    return _Collector(conn, graph, plan, max_rows, progress, sink, batch_size).run(root_value)


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
        if parent is not None and all(c in parent.tracked for c in fk.ref_columns):
            present = {parent.project(k, fk.ref_columns) for k in parent.rows}
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
    keys = sorted_keys(rows.rows)
    if not info.primary_key:
        order = [rows.tracked.index(c) for c in columns]
        all_rows = [tuple(rows.rows[k][i] for i in order) for k in keys]
        for start in range(0, len(all_rows), batch_size):
            yield columns, _detach(all_rows[start : start + batch_size], detached)
        return
    for start in range(0, len(keys), batch_size):
        part = keys[start : start + batch_size]
        fetched = [
            r
            for chunk in fetch_chunks(
                conn, info.table, columns, info.primary_key, part, order_by=info.primary_key
            )
            for r in chunk
        ]
        yield columns, _detach(fetched, detached)
