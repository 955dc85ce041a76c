"""Foreign keys of a load checked once at the end instead of row by row (Postgres staging).

`replica_role` turns the per-row triggers of the target off for the load's transaction, when the role may;
`ReferenceCheck` then verifies every declared foreign key of the written rows: on the server for tables that were
empty before the load (all their rows are the load's own), from the written values otherwise.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from repro.errors import DatabaseError
from repro.masking.batch import MaskedBatch
from repro.schema import ForeignKey, SchemaGraph


def replica_role(conn: Connection) -> bool:
    """Turn per-row triggers off for this transaction if the role may (superuser, or granted SET)."""
    conn.exec_driver_sql("SAVEPOINT repro_replica")
    try:
        conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
    except sa.exc.DBAPIError:
        conn.exec_driver_sql("ROLLBACK TO SAVEPOINT repro_replica")
        return False
    conn.exec_driver_sql("RELEASE SAVEPOINT repro_replica")
    return True


class ReferenceCheck:
    """The foreign keys of the written rows, verified once at the end instead of row by row.

    Every non-NULL reference of a written row must point at a row written by this copy or already on staging
    (MATCH SIMPLE: a composite reference with a NULL is not checked). Foreign keys that point at non-key
    columns are also checked from the referencing side over the whole table, since an upsert may have changed
    a referenced value of a row that other staging rows point at.
    """

    def __init__(self, conn: Connection, graph: SchemaGraph, tables: Sequence[str]) -> None:
        self.conn = conn
        self.graph = graph
        self.tables = [t for t in tables if t in graph.tables]
        self.refs: dict[ForeignKey, set[Any]] = {}  # values (tuples for composite keys) per foreign key
        self.keys: dict[tuple[str, tuple[str, ...]], set[Any]] = {}  # written values of referenced columns
        self._getters: dict[tuple[str, tuple[str, ...]], list[tuple[Any, Any]]] = {}
        self._fresh: set[str] | None = None

    def fresh(self) -> set[str]:
        """Tables that held no row before this load: all their rows are the load's own (one query)."""
        if self._fresh is None:
            self._fresh = set()
            if self.tables:
                probe = " UNION ALL ".join(
                    f"SELECT {i} WHERE NOT EXISTS (SELECT 1 FROM {self._name(table)})"
                    for i, table in enumerate(self.tables)
                )
                self._fresh = {self.tables[row[0]] for row in self.conn.exec_driver_sql(probe)}
        return self._fresh

    def record(self, batch: MaskedBatch) -> None:
        for target, values_of in self._plan(batch):
            target.update(values_of(batch.rows))

    def _plan(self, batch: MaskedBatch) -> list[tuple[Any, Any]]:
        """What to remember of this batch: references of tables that had rows (the others are checked on
        the server at the end), and the referenced values those references may point at."""
        cache_key = (batch.table, batch.columns)
        if cache_key not in self._getters:
            fresh = self.fresh()
            plan: list[tuple[Any, Any]] = []
            for fk in self.graph.parents_of(batch.table):
                if fk.virtual or batch.table in fresh or not all(c in batch.columns for c in fk.columns):
                    continue
                plan.append((self.refs.setdefault(fk, set()), _tuple_getter(batch.columns, fk.columns)))
            for fk in self.graph.children_of(batch.table):
                if fk.virtual or fk.table in fresh or not all(c in batch.columns for c in fk.ref_columns):
                    continue
                target = self.keys.setdefault((batch.table, fk.ref_columns), set())
                if all(t is not target for t, _ in plan):
                    plan.append((target, _tuple_getter(batch.columns, fk.ref_columns)))
            self._getters[cache_key] = plan
        return self._getters[cache_key]

    def verify(self) -> None:
        fresh = self.fresh()
        written_tables = {table for table, _ in self._getters}
        fks = sorted((fk for fk in self.graph.foreign_keys if not fk.virtual), key=lambda f: f.label)
        whole = [fk for fk in fks if fk.table in fresh and fk.table in written_tables]
        if whole:  # one round trip for all of them; the failing one is then named
            probe = " UNION ALL ".join(
                f"SELECT {i} WHERE EXISTS ({self._dangling(fk)})" for i, fk in enumerate(whole)
            )
            first = self.conn.exec_driver_sql(probe).first()
            if first is not None:
                self._check_whole_table(whole[first[0]], changed_parent=False)
        for fk, refs in sorted(self.refs.items(), key=lambda item: item[0].label):
            written = self.keys.get((fk.ref_table, fk.ref_columns), set())
            if len(fk.columns) == 1:  # values are kept bare for single-column keys
                missing = {(r,) for r in refs - written if r is not None}
            else:
                missing = {r for r in refs - written if None not in r}
            if missing:
                missing -= self._on_staging(fk, missing)
            if missing:
                self._refuse(fk, len(missing), sorted(missing, key=str)[0])
        for fk in fks:
            info = self.graph.tables.get(fk.ref_table)
            if info is None or fk.ref_columns == info.primary_key:
                continue
            if fk.ref_table in written_tables and fk.table not in fresh:
                self._check_whole_table(fk, changed_parent=True)

    def _refuse(self, fk: ForeignKey, count: int | None, example: tuple[Any, ...]) -> None:
        many = f"{count} value(s)" if count is not None else "values"
        raise DatabaseError(
            f"writing {fk.table} to staging failed: {many} of {fk.label} point at no"
            f" {fk.ref_table} row (e.g. {', '.join(map(str, example))})"
        )

    def _on_staging(self, fk: ForeignKey, values: set[tuple[Any, ...]]) -> set[tuple[Any, ...]]:
        table = self.graph.table(fk.ref_table).table
        cols = [table.c[c] for c in fk.ref_columns]
        found: set[tuple[Any, ...]] = set()
        pending = list(values)
        for start in range(0, len(pending), 1000):
            part = pending[start : start + 1000]
            match = cols[0].in_([v[0] for v in part]) if len(cols) == 1 else sa.tuple_(*cols).in_(part)
            found.update(tuple(r) for r in self.conn.execute(sa.select(*cols).where(match)))
        return found

    def _name(self, table: str) -> str:
        return str(self.conn.dialect.identifier_preparer.format_table(self.graph.table(table).table))

    def _dangling(self, fk: ForeignKey) -> str:
        """SQL: rows of fk.table whose reference finds no fk.ref_table row (their reference columns, at most
        one). Written out, not built with SQLAlchemy: compiling the end-of-copy checks cost a light copy ~20 ms."""
        quote = self.conn.dialect.identifier_preparer.quote
        refs = [f"c.{quote(c)}" for c in fk.columns]
        match = " AND ".join(
            f"p.{quote(r)} = c.{quote(c)}" for c, r in zip(fk.columns, fk.ref_columns, strict=True)
        )
        return (
            f"SELECT {', '.join(refs)} FROM {self._name(fk.table)} AS c"
            f" WHERE {' AND '.join(f'{r} IS NOT NULL' for r in refs)}"
            f" AND NOT EXISTS (SELECT 1 FROM {self._name(fk.ref_table)} AS p WHERE {match}) LIMIT 1"
        )

    def _check_whole_table(self, fk: ForeignKey, *, changed_parent: bool) -> None:
        """No row of fk.table may reference a missing fk.ref_table row (one anti-join on the server)."""
        row = self.conn.exec_driver_sql(self._dangling(fk)).first()
        if row is None:
            return
        if changed_parent:
            raise DatabaseError(
                f"writing {fk.ref_table} to staging failed: staging rows of {fk.table} point at"
                f" {fk.ref_table} values this copy changed ({fk.label})"
            )
        self._refuse(fk, None, tuple(row))


def _tuple_getter(
    columns: Sequence[str], wanted: Sequence[str]
) -> Callable[[list[tuple[Any, ...]]], Iterable[tuple[Any, ...]]]:
    """rows -> the `wanted` values of each row: a tuple, or the value itself for a single column."""
    positions = [list(columns).index(c) for c in wanted]
    getter = operator.itemgetter(*positions)
    return lambda rows: map(getter, rows)
