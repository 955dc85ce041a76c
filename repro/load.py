"""Write masked batches into the target in one transaction: parents first, cycles broken, upsert, sequences.

The only input is MaskedBatch (see repro.masking.batch): rows that went through the masking engine or come
from a snapshot written by it. Rows of staging that are not part of the copy are never touched.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from repro.db import connect, describe_db_error, dialect_name, without_parameter_escapes
from repro.errors import DatabaseError, SchemaMismatchError
from repro.load_order import LoadPlan
from repro.masking.batch import MaskedBatch
from repro.pgcopy import CopyUpserter, copy_upserter
from repro.refcheck import ReferenceCheck, replica_role
from repro.schema import SchemaGraph


@dataclass
class LoadResult:
    """Rows written per table, and the deferred foreign-key updates made after the inserts."""

    rows: dict[str, int]
    deferred_updates: int = 0


def check_target_schema(target: SchemaGraph, needed: Mapping[str, Sequence[str]]) -> None:
    """Every table and column the copy writes must exist in the target; name the first ones missing."""
    missing_tables = sorted(t for t in needed if t not in target.tables)
    if missing_tables:
        raise SchemaMismatchError(
            f"the target database has no table {', '.join(missing_tables)}"
            " (run with --create-schema on an empty staging database, or migrate it)"
        )
    missing = [
        f"{t}.{c}" for t, cols in sorted(needed.items()) for c in cols if c not in target.tables[t].columns
    ]
    if missing:
        raise SchemaMismatchError(
            f"the target database has no column {', '.join(missing)} (migrate staging first)"
        )


@contextmanager
def target_transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction on the target: committed only if the block succeeds, rolled back otherwise."""
    with connect(engine) as conn:
        trans = conn.begin()
        try:
            yield conn
        except BaseException:
            trans.rollback()
            raise
        try:
            trans.commit()
        except sa.exc.DBAPIError as exc:
            raise DatabaseError(f"staging commit failed: {describe_db_error(exc)}") from None


class Loader:
    """Writes batches in plan order inside the caller's transaction.

    On Postgres, when `triggers` is "auto" and the role may set `session_replication_role`, the per-row
    triggers of the target (foreign-key checks among them) are off for this transaction; every declared
    foreign key of the written rows is then verified once, set-wise, in `finish` (see `ReferenceCheck`).
    """

    def __init__(
        self,
        conn: Connection,
        plan: LoadPlan,
        *,
        use_fast_path: bool = True,
        triggers: str = "auto",
        tables: Iterable[str] | None = None,
    ) -> None:
        """`tables`: every table this load may write (default: the plan's order)."""
        self.conn = conn
        self.plan = plan
        self.dialect = dialect_name(conn)
        self.rows: dict[str, int] = {}
        self._deferred_values: dict[str, list[dict[str, Any]]] = {}
        self._upserters: dict[tuple[str, tuple[str, ...]], CopyUpserter | None] = {}
        self._temp_names = itertools.count()
        self.use_fast_path = use_fast_path
        self._was_empty: dict[str, bool] = {}
        self.references: ReferenceCheck | None = None
        if self.dialect == "postgresql" and use_fast_path and triggers == "auto" and replica_role(conn):
            written = sorted(set(tables if tables is not None else plan.order))
            self.references = ReferenceCheck(conn, plan.graph, written)

    def encode(self, batch: MaskedBatch) -> bytes | None:
        """The COPY data of a batch as `write` would send it, or None where `write` does more than COPY the
        rows as they are (another dialect, a type without COPY encoding, cycle references set later).

        Lets the caller encode in its own thread: `write(batch, data)` then only sends it.
        """
        if self.references is None or not batch.rows:
            return None
        info = self.plan.graph.table(batch.table)
        fast = self._fast_path(batch, info.table, info.primary_key)
        if fast is None:
            return None
        with self._writing(batch.table):
            return fast.encode(batch.rows)

    def write(self, batch: MaskedBatch, data: bytes | None = None) -> None:
        """Write a masked batch (`data`: its `encode`, made by the caller after any change to the batch)."""
        if not isinstance(batch, MaskedBatch):
            raise TypeError("the loader only writes MaskedBatch rows")
        if not batch.rows:
            return
        info = self.plan.graph.table(batch.table)
        if self.references is not None:
            self.references.record(batch)
            rows = batch.rows  # no per-row checks: cycles need no NULL-then-UPDATE
        else:
            rows = self._defer(batch, info.primary_key)
        with self._writing(batch.table):
            fast = self._fast_path(batch, info.table, info.primary_key)
            if fast is not None:
                fast.write(rows, table_was_empty=self.fresh_table(batch.table), data=data)
            else:
                records = [dict(zip(batch.columns, row, strict=True)) for row in rows]
                self._upsert(info.table, info.primary_key, list(batch.columns), records)
        self.rows[batch.table] = self.rows.get(batch.table, 0) + len(rows)

    def write_all(self, work: Sequence[tuple[MaskedBatch, bytes | None]]) -> None:
        """Write batches in order, each with its `encode` or None. Consecutive encoded batches of a table that
        was empty before the load go in one COPY (each COPY costs the server a statement of its own)."""
        group: list[MaskedBatch] = []  # encoded batches of one table that was empty, not sent yet
        datas: list[bytes] = []
        for batch, data in [*work, (None, None)]:
            if group and (batch is None or batch.table != group[0].table or data is None):
                if len(group) == 1:
                    self.write(group[0], datas[0])
                else:
                    self._copy_encoded(group, b"".join(datas))
                group, datas = [], []
            if batch is None:
                break
            if data is not None and self.fresh_table(batch.table):
                group.append(batch)
                datas.append(data)
            else:
                self.write(batch, data)

    def _copy_encoded(self, batches: list[MaskedBatch], data: bytes) -> None:
        table = batches[0].table
        info = self.plan.graph.table(table)
        fast = self._fast_path(batches[0], info.table, info.primary_key)
        assert fast is not None and self.references is not None  # as `encode` made the data
        for batch in batches:
            self.references.record(batch)
        with self._writing(table):
            fast.copy_in(data)
        self.rows[table] = self.rows.get(table, 0) + sum(len(b.rows) for b in batches)

    @contextmanager
    def _writing(self, table: str) -> Iterator[None]:
        """Errors of a write as one-line DatabaseErrors naming the table."""
        try:
            yield
        except (TypeError, ValueError) as exc:  # a value its column type refuses (see pgcopy)
            raise DatabaseError(f"writing {table} to staging failed: {exc}") from None
        except sa.exc.StatementError as exc:  # DBAPIError, and values a column type refuses before sending
            raise DatabaseError(f"writing {table} to staging failed: {describe_db_error(exc)}") from None
        except psycopg2_errors() as exc:
            raise DatabaseError(f"writing {table} to staging failed: {describe_db_error(exc)}") from None

    def fresh_table(self, table: str) -> bool:
        """The table held no row before this load first wrote to it: then no staging row but the load's own can
        hold one of its keys or unique values (Postgres fast path; elsewhere always False)."""
        if self.dialect != "postgresql" or not self.use_fast_path:
            return False
        if table not in self._was_empty:
            check = self.references
            if check is not None and table in check.tables:
                self._was_empty[table] = table in check.fresh()  # one query for every table of the load
            else:
                probe = sa.select(sa.literal(1)).select_from(self.plan.graph.table(table).table).limit(1)
                self._was_empty[table] = self.conn.execute(probe).first() is None
        return self._was_empty[table]

    def _defer(self, batch: MaskedBatch, pk: tuple[str, ...]) -> list[tuple[Any, ...]]:
        """Rows with the cycle-breaking foreign keys set to NULL; their values are kept for `finish`."""
        deferred = self.plan.deferred_columns(batch.table)
        if not deferred:
            return batch.rows
        positions = [batch.columns.index(c) for c in deferred]
        pk_positions = [batch.columns.index(c) for c in pk]
        pending = self._deferred_values.setdefault(batch.table, [])
        out = []
        for row in batch.rows:
            if any(row[i] is not None for i in positions):
                record = {f"pk_{c}": row[i] for c, i in zip(pk, pk_positions, strict=True)}
                record.update({c: row[i] for c, i in zip(deferred, positions, strict=True)})
                pending.append(record)
                values = list(row)
                for i in positions:
                    values[i] = None
                row = tuple(values)
            out.append(row)
        return out

    def _fast_path(self, batch: MaskedBatch, table: sa.Table, pk: tuple[str, ...]) -> CopyUpserter | None:
        if self.dialect != "postgresql" or not self.use_fast_path:
            return None
        key = (batch.table, batch.columns)
        if key not in self._upserters:
            # Two threads may ask (see `encode`): the temporary table names come from a shared counter.
            self._upserters[key] = copy_upserter(self.conn, table, pk, batch.columns, next(self._temp_names))
        return self._upserters[key]

    def _upsert(
        self, table: sa.Table, pk: tuple[str, ...], columns: list[str], records: list[dict[str, Any]]
    ) -> None:
        if not pk:
            self._insert_missing(table, columns, records)
            return
        updates = [c for c in columns if c not in pk]
        stmt: Any
        if self.dialect in ("postgresql", "sqlite"):
            insert = _dialect_module(self.dialect).insert
            stmt = insert(table)
            stmt = (
                stmt.on_conflict_do_update(
                    index_elements=list(pk), set_={c: stmt.excluded[c] for c in updates}
                )
                if updates
                else stmt.on_conflict_do_nothing(index_elements=list(pk))
            )
        elif self.dialect == "mysql":
            self._refuse_unique_takeover(table, pk, records)
            stmt = _dialect_module("mysql").insert(table)
            first = updates[0] if updates else pk[0]
            stmt = stmt.on_duplicate_key_update(
                {c: stmt.inserted[c] for c in updates} if updates else {first: table.c[first]}
            )
        else:
            raise DatabaseError(f"unsupported target database: {self.dialect}")
        self.conn.execute(stmt, records)

    def _refuse_unique_takeover(
        self, table: sa.Table, pk: tuple[str, ...], records: list[dict[str, Any]]
    ) -> None:
        """MySQL's ON DUPLICATE KEY UPDATE fires on any unique key, so a copied row whose unique value another
        staging row holds would overwrite that row; refuse it, as the ON CONFLICT (pk) of the others does."""
        info = self.plan.graph.table(table.name)
        for ucols in info.unique:
            if set(ucols) == set(pk) or any(c not in records[0] for c in ucols):
                continue
            wanted = {
                tuple(_collated(r[c]) for c in ucols): tuple(r[c] for c in pk)
                for r in records
                if all(r[c] is not None for c in ucols)
            }
            values = list(wanted)
            for start in range(0, len(values), 500):
                part = values[start : start + 500]
                match = (
                    table.c[ucols[0]].in_([v[0] for v in part])
                    if len(ucols) == 1
                    else sa.tuple_(*(table.c[c] for c in ucols)).in_(part)
                )
                query = sa.select(*(table.c[c] for c in ucols), *(table.c[c] for c in pk)).where(match)
                for row in self.conn.execute(query):
                    value = tuple(_collated(v) for v in row[: len(ucols)])
                    if wanted.get(value) != tuple(row[len(ucols) :]):
                        raise DatabaseError(
                            f"writing {table.name} to staging failed: another staging row already holds"
                            f" the unique ({', '.join(ucols)}) of a copied row"
                        )

    def _insert_missing(self, table: sa.Table, columns: list[str], records: list[dict[str, Any]]) -> None:
        """A table without a primary key: insert only rows not already present in full."""
        fresh = []
        for rec in records:
            cond = sa.and_(*(self._same(table.c[c], rec[c]) for c in columns))
            if (
                self.conn.execute(sa.select(sa.literal(1)).select_from(table).where(cond).limit(1)).first()
                is None
            ):
                fresh.append(rec)
        if fresh:
            self.conn.execute(sa.insert(table), fresh)

    def _same(self, column: sa.Column[Any], value: Any) -> Any:
        """`column` holds `value`; Postgres has no `json = json`, so JSON documents compare as jsonb."""
        if value is None:
            return column.is_(None)
        if self.dialect == "postgresql" and isinstance(column.type, sa.JSON):
            jsonb = _dialect_module("postgresql").JSONB
            return sa.cast(column, jsonb) == sa.cast(sa.literal(value, column.type), jsonb)
        return column == value

    def finish(self) -> LoadResult:
        """Set the deferred cycle foreign keys, then advance sequences past the copied ids."""
        updates = 0
        for table_name, pending in self._deferred_values.items():
            info = self.plan.graph.table(table_name)
            table = info.table
            for cols in _group_by_columns(pending, info.primary_key):
                stmt = (
                    sa.update(table)
                    .where(*(table.c[c] == sa.bindparam(f"pk_{c}") for c in info.primary_key))
                    .values({c: sa.bindparam(c) for c in cols})
                )
                rows = [r for r in pending if _non_null_cols(r, info.primary_key) == cols]
                try:
                    self.conn.execute(stmt, rows)
                except sa.exc.DBAPIError as exc:
                    raise DatabaseError(
                        f"linking {table_name} rows failed: {describe_db_error(exc)}"
                    ) from None
                updates += len(rows)
        if self.references is not None:
            self.references.verify()
        if self.dialect == "postgresql":
            self._advance_sequences()
        return LoadResult(rows=dict(self.rows), deferred_updates=updates)

    def _advance_sequences(self) -> None:
        """Move each copied table's id sequence past the largest id on staging (two round trips in all)."""
        preparer = self.conn.dialect.identifier_preparer
        tables = []
        for table_name in self.rows:
            info = self.plan.graph.table(table_name)
            if len(info.primary_key) == 1:
                qualified = f"{info.table.schema}.{table_name}" if info.table.schema else table_name
                name = without_parameter_escapes(self.conn, preparer.quote(qualified))  # a parameter value
                tables.append((info, name, info.primary_key[0]))
        if not tables:
            return
        lookup = " UNION ALL ".join(
            f"SELECT {i} AS i, pg_get_serial_sequence(:t{i}, :c{i}) AS seq" for i in range(len(tables))
        )
        params: dict[str, str] = {}
        for i, (_, name, col) in enumerate(tables):
            params[f"t{i}"], params[f"c{i}"] = name, col
        found = {i: seq for i, seq in self.conn.execute(sa.text(lookup), params) if seq is not None}
        moves = []
        for i, seq in sorted(found.items()):
            info, _, col = tables[i]
            largest = f"(SELECT max({preparer.quote(col)}) FROM {preparer.format_table(info.table)})"
            moves.append(
                f"SELECT setval(:s{i}, {largest}) WHERE {largest}"
                " > (SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM " + seq + ")"
            )
        if moves:
            statement = "SELECT count(*) FROM (" + " UNION ALL ".join(moves) + ") AS moved"
            self.conn.execute(sa.text(statement), {f"s{i}": seq for i, seq in found.items()})


def _dialect_module(name: str) -> Any:
    """SQLAlchemy's dialect package, imported when first needed (each costs start-up time)."""
    import importlib

    return importlib.import_module(f"sqlalchemy.dialects.{name}")


def _collated(value: Any) -> Any:
    """Text as MySQL's default collations compare it: case-insensitive, trailing spaces ignored."""
    return value.casefold().rstrip(" ") if isinstance(value, str) else value


def _non_null_cols(record: Mapping[str, Any], pk: Sequence[str]) -> tuple[str, ...]:
    return tuple(sorted(k for k, v in record.items() if not k.startswith("pk_") and v is not None))


def _group_by_columns(pending: list[dict[str, Any]], pk: Sequence[str]) -> list[tuple[str, ...]]:
    return sorted({_non_null_cols(r, pk) for r in pending})


def psycopg2_errors() -> tuple[type[BaseException], ...]:
    """Driver errors raised by the COPY path, which bypasses SQLAlchemy's wrapping."""
    try:
        import psycopg2
    except ImportError:  # pragma: no cover - psycopg2 is a dependency
        return ()
    return (psycopg2.Error,)


def write_subset(
    engine: Engine,
    plan: LoadPlan,
    batches_for: Callable[[str], Iterable[MaskedBatch]],
    *,
    triggers: str = "auto",
) -> LoadResult:
    """Load every table of the plan in one transaction (used by snapshot restore)."""
    with target_transaction(engine) as conn:
        loader = Loader(conn, plan, triggers=triggers)
        for table in plan.order:
            for batch in batches_for(table):
                loader.write(batch)
        return loader.finish()
