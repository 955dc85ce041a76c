"""Batched lookups on the source: rows of a table whose columns match a set of keys.

Postgres takes thousands of keys at once through one array parameter (`col = ANY(CAST(:keys AS type[]))`),
run on the driver's cursor with its statement text cached and read through a server-side cursor; the other
databases take a few hundred keys per `IN (...)` list through SQLAlchemy. Rows come in parts of bounded size.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.engine import Connection

from repro.db import dialect_name, pg_array_param

LOOKUP_CHUNK = 500  # values per IN (...) list: well below every dialect's parameter limit
ARRAY_CHUNK = 5_000  # values per Postgres array parameter
ROWS_PER_PART = 5_000  # rows held at once per lookup


def _in_clause(table: sa.Table, columns: Sequence[str], values: Sequence[Any]) -> Any:
    """`columns IN values` (values bare for one column)."""
    if len(columns) == 1:
        return table.c[columns[0]].in_(values)
    return sa.tuple_(*(table.c[c] for c in columns)).in_(values)


def _any_array_sql(
    conn: Connection,
    table: sa.Table,
    select_columns: Sequence[str],
    match_columns: Sequence[str],
    order_by: Sequence[str] = (),
    count: bool = False,
) -> str | None:
    """Postgres: the text of one `col = ANY(CAST(%(keys)s AS type[]))` lookup, reused for every chunk (or None
    where it does not apply: other databases, several match columns, array or JSON columns).

    Written with the dialect's quoting rather than compiled from a select(): compiling costs about a
    millisecond per statement, a visible part of a light user's copy. With `count`, the statement gives the
    number of rows per match value instead of `select_columns`."""
    if dialect_name(conn) != "postgresql" or len(match_columns) != 1:
        return None
    column = table.c[match_columns[0]]
    if isinstance(column.type, sa.ARRAY | sa.JSON):
        return None
    # The dialect's quoting already doubles a % in a name: psycopg2 reads the text with a parameter.
    quote = conn.dialect.identifier_preparer.quote
    array_type = conn.dialect.type_compiler_instance.process(pg.ARRAY(column.type))
    match = quote(column.name)
    names = [match, "count(*)"] if count else [quote(c) for c in select_columns]
    sql = (
        f"SELECT {', '.join(names)} FROM {conn.dialect.identifier_preparer.format_table(table)}"
        f" WHERE {match} = ANY(CAST(%(keys)s AS {array_type}))"
    )
    if count:
        sql += f" GROUP BY {match}"
    if order_by:
        sql += " ORDER BY " + ", ".join(quote(c) for c in order_by)
    return sql


_cursor_names = itertools.count(1)


def _raw_fetcher(
    conn: Connection, sql: str, cols: list[Any]
) -> Callable[[list[Any], int], Iterator[list[tuple[Any, ...]]]]:
    """Run a key lookup (SQL text, see `_any_array_sql`) on the driver's cursor: plain tuples, without building a
    Row per row.

    The lookup runs through a server-side cursor, `rows_per_fetch` rows at a time, so however many rows one
    key has (a user's 20,000 orders), no more than that many are held at once; opening the cursor, its first
    fetch and closing the previous cursor share one round trip. The column types' result processors (e.g.
    text -> UUID) are applied as SQLAlchemy would.
    """
    active: list[tuple[int, Callable[[Any], Any]]] | None = None  # from the first cursor's type codes
    to_close: list[str] = []  # cursors read to the end, closed with the next lookup

    def typed(cursor: Any, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        nonlocal active
        if active is None:
            processors = [
                c.type._cached_result_processor(conn.dialect, d[1])
                for c, d in zip(cols, cursor.description, strict=True)
            ]
            active = [(i, p) for i, p in enumerate(processors) if p is not None]
        if not active:
            return rows
        out = []
        for row in rows:
            values = list(row)
            for i, proc in active:
                values[i] = proc(values[i])
            out.append(tuple(values))
        return out

    def fetch(keys: list[Any], rows_per_fetch: int) -> Iterator[list[tuple[Any, ...]]]:
        name = f"repro_lookup_{next(_cursor_names)}"
        closing = "".join(f"CLOSE {c}; " for c in to_close)
        to_close.clear()
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(
                f"{closing}DECLARE {name} NO SCROLL CURSOR FOR {sql}; FETCH FORWARD {rows_per_fetch} FROM {name}",
                {"keys": pg_array_param(keys)},
            )
            while True:
                rows: list[tuple[Any, ...]] = list(cursor.fetchall())
                if rows:
                    yield typed(cursor, rows)
                if len(rows) < rows_per_fetch:
                    break
                cursor.execute(f"FETCH FORWARD {rows_per_fetch} FROM {name}")
        finally:
            to_close.append(name)
            cursor.close()

    return fetch


StatementCache = dict[tuple[Any, ...], Callable[[list[Any], int], Iterator[list[tuple[Any, ...]]]]]


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
    bare: bool = False,
    rows_per_part: int = ROWS_PER_PART,
) -> Iterator[list[tuple[Any, ...]]]:
    """Rows of `table` whose `match_columns` equal one of `values`, in lists of at most `rows_per_part`
    tuples: a few hundred keys per query, or on Postgres thousands at once through one array parameter (its
    statement kept in `cache`). Values are tuples, or with `bare` (one match column) the values
    themselves."""
    pending = list(values) if bare or len(match_columns) > 1 else [v[0] for v in values]
    cols = [table.c[c] for c in select_columns]
    cache_key = (table.fullname, tuple(select_columns), tuple(match_columns), tuple(order_by))
    fetch = cache.get(cache_key) if cache is not None else None
    if fetch is None:
        any_sql = _any_array_sql(conn, table, select_columns, match_columns, order_by)
        if any_sql is not None:
            fetch = _raw_fetcher(conn, any_sql, cols)
            if cache is not None:
                cache[cache_key] = fetch
    if fetch is not None:
        for start in range(0, len(pending), array_chunk):
            yield from fetch(pending[start : start + array_chunk], rows_per_part)
        return
    for start in range(0, len(pending), chunk):
        part = pending[start : start + chunk]
        stmt = sa.select(*cols).where(_in_clause(table, match_columns, part))
        if order_by:
            stmt = stmt.order_by(*(table.c[c] for c in order_by))
        result = conn.execute(stmt)
        while rows := result.fetchmany(rows_per_part):
            yield [tuple(r) for r in rows]


def count_matches(
    conn: Connection, table: sa.Table, column: str, values: Sequence[Any], chunk: int = LOOKUP_CHUNK
) -> dict[Any, int]:
    """How many rows of `table` hold each of `values` in `column` (values without rows are left out).

    With an index on the column this reads the index alone where the table's pages are marked all-visible
    (`count(*)` needs no column of the rows): far fewer pages than the rows themselves."""
    col = table.c[column]
    counts: dict[Any, int] = {}
    any_sql = _any_array_sql(conn, table, (), [column], count=True)
    if any_sql is not None:
        fetch = _raw_fetcher(conn, any_sql, [col, sa.func.count()])
        for start in range(0, len(values), ARRAY_CHUNK):
            for part in fetch(list(values[start : start + ARRAY_CHUNK]), ROWS_PER_PART):
                counts.update(part)
        return counts
    keys: Any = sa.bindparam("keys", expanding=True)
    stmt = sa.select(col, sa.func.count()).where(col.in_(keys)).group_by(col)
    for start in range(0, len(values), chunk):
        for value, n in conn.execute(stmt, {"keys": list(values[start : start + chunk])}):
            counts[value] = n
    return counts
