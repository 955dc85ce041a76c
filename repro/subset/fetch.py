"""Batched lookups on the source: rows of a table whose columns match a set of keys.

Postgres takes thousands of keys at once through one array parameter (`col = ANY(CAST(:keys AS type[]))`),
run on the driver's cursor with its compiled statement cached; the other databases take a few hundred keys per
`IN (...)` list through SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.engine import Connection

from repro.db import dialect_name, pg_array_param

LOOKUP_CHUNK = 500  # values per IN (...) list: well below every dialect's parameter limit
ARRAY_CHUNK = 5_000  # values per Postgres array parameter


def _in_clause(table: sa.Table, columns: Sequence[str], values: Sequence[tuple[Any, ...]]) -> Any:
    if len(columns) == 1:
        return table.c[columns[0]].in_([v[0] for v in values])
    return sa.tuple_(*(table.c[c] for c in columns)).in_(values)


def _any_array_statement(
    conn: Connection, table: sa.Table, cols: list[Any], match_columns: Sequence[str], order_by: Sequence[str]
) -> Any:
    """Postgres: one `col = ANY(CAST(:keys AS type[]))` statement, reused for every chunk."""
    if dialect_name(conn) != "postgresql" or len(match_columns) != 1:
        return None
    column = table.c[match_columns[0]]
    if isinstance(column.type, sa.ARRAY | sa.JSON):
        return None
    stmt = sa.select(*cols).where(column == sa.any_(sa.cast(sa.bindparam("keys"), pg.ARRAY(column.type))))
    if order_by:
        stmt = stmt.order_by(*(table.c[c] for c in order_by))
    return stmt


def _raw_fetcher(
    conn: Connection, stmt: Any, cols: list[Any]
) -> Callable[[list[Any]], list[tuple[Any, ...]]]:
    """Run a compiled key lookup on the driver's cursor: plain tuples, without building a Row per row.

    The column types' result processors (e.g. text -> UUID) are applied as SQLAlchemy would; lookups run
    thousands of times faster than they are compiled, so this matters for large copies only.
    """
    compiled = stmt.compile(dialect=conn.dialect)
    sql = str(compiled)
    active: list[tuple[int, Callable[[Any], Any]]] | None = None  # from the first cursor's type codes

    def fetch(keys: list[Any]) -> list[tuple[Any, ...]]:
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        nonlocal active
        try:
            cursor.execute(sql, {"keys": pg_array_param(keys)})
            rows: list[tuple[Any, ...]] = list(cursor.fetchall())
            if active is None:
                processors = [
                    c.type._cached_result_processor(conn.dialect, d[1])
                    for c, d in zip(cols, cursor.description, strict=True)
                ]
                active = [(i, p) for i, p in enumerate(processors) if p is not None]
        finally:
            cursor.close()
        if not active:
            return rows
        out = []
        for row in rows:
            values = list(row)
            for i, proc in active:
                values[i] = proc(values[i])
            out.append(tuple(values))
        return out

    return fetch


StatementCache = dict[tuple[Any, ...], Callable[[list[Any]], list[tuple[Any, ...]]]]


def fetch_chunks(
    conn: Connection,
    table: sa.Table,
    select_columns: Sequence[str],
    match_columns: Sequence[str],
    values: Iterable[tuple[Any, ...]],
    chunk: int = LOOKUP_CHUNK,
    order_by: Sequence[str] = (),
    cache: StatementCache | None = None,
    array_chunk: int = ARRAY_CHUNK,
) -> Iterator[list[tuple[Any, ...]]]:
    """Rows of `table` whose `match_columns` equal one of `values`, one list of tuples per query: a few
    hundred keys per query, or on Postgres thousands at once through one array parameter (its compiled
    statement kept in `cache`)."""
    pending = list(values)
    cols = [table.c[c] for c in select_columns]
    cache_key = (table.fullname, tuple(select_columns), tuple(match_columns), tuple(order_by))
    fetch = cache.get(cache_key) if cache is not None else None
    if fetch is None:
        any_stmt = _any_array_statement(conn, table, cols, match_columns, order_by)
        if any_stmt is not None:
            fetch = _raw_fetcher(conn, any_stmt, cols)
            if cache is not None:
                cache[cache_key] = fetch
    if fetch is not None:
        for start in range(0, len(pending), array_chunk):
            yield fetch([v[0] for v in pending[start : start + array_chunk]])
        return
    for start in range(0, len(pending), chunk):
        part = pending[start : start + chunk]
        stmt = sa.select(*cols).where(_in_clause(table, match_columns, part))
        if order_by:
            stmt = stmt.order_by(*(table.c[c] for c in order_by))
        yield [tuple(r) for r in conn.execute(stmt).fetchall()]
