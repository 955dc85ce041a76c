"""Key lookups return the same Python values whatever path they take (Postgres array lookups on the driver's
cursor, IN lists through SQLAlchemy elsewhere)."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from repro.schema import reflect
from repro.subset.fetch import count_matches, fetch_chunks

PG_TABLE = """
CREATE TYPE mood AS ENUM ('happy', 'sad');
CREATE TABLE t (
  id integer PRIMARY KEY, big bigint, num numeric(12, 3), flt double precision, txt text, flag boolean,
  day date, ts timestamp, tstz timestamptz, raw bytea, doc json, docb jsonb, uid uuid, tags text[],
  feeling mood, tm time
);
INSERT INTO t VALUES
  (1, 9007199254740993, 12.345, 0.1, E'tab\\there', true, '2024-02-29', '2024-01-01 10:00:00.123456',
   '2024-01-01 10:00:00+02', '\\x00ff', '{"a": [1, null]}', '{"b": "x"}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
   '{x,y}', 'sad', '12:30:00'),
  (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
"""


def _table_with_rows(url: str, ddl: str, rows: list[dict[str, Any]]) -> sa.Engine:
    """An engine on `url` after creating one table and inserting `rows` (dicts by column name) into it."""
    engine = sa.create_engine(url)
    table = ddl.split()[2]
    with engine.begin() as conn:
        conn.exec_driver_sql(ddl)
        names = list(rows[0])
        conn.execute(sa.text(f"INSERT INTO {table} VALUES ({', '.join(':' + n for n in names)})"), rows)
    return engine


@pytest.mark.parametrize("dialect", ["postgresql"])
def test_array_lookup_matches_sqlalchemy(dialect: str, new_database: Any) -> None:
    url = new_database(dialect)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(PG_TABLE)
    graph = reflect(engine)
    table = graph.tables["t"].table
    columns = graph.tables["t"].columns
    with engine.connect() as conn:
        fast = [
            r for c in fetch_chunks(conn, table, columns, ["id"], [(1,), (2,)], order_by=["id"]) for r in c
        ]
        reference = [tuple(r) for r in conn.execute(sa.select(table).order_by(table.c.id))]
        uid = reference[0][columns.index("uid")]
        by_uuid = [r for c in fetch_chunks(conn, table, ["id"], ["uid"], [(uid,)]) for r in c]
    engine.dispose()
    assert fast == reference
    assert [type(v) for v in fast[0]] == [type(v) for v in reference[0]]
    assert by_uuid == [(1,)]


@pytest.mark.parametrize("dialect", ["postgresql", "sqlite"])
def test_lookups_come_in_bounded_parts(dialect: str, new_database: Any) -> None:
    """One key with many rows (a user's orders) comes in parts of at most `rows_per_part` rows, the same
    rows as one query gives; later lookups on the same transaction are unaffected by earlier cursors."""
    engine = _table_with_rows(
        new_database(dialect),
        "CREATE TABLE o (id integer PRIMARY KEY, owner integer, note text)",
        [{"id": i, "owner": 1 if i <= 25 else 2, "note": f"n{i}"} for i in range(1, 31)],
    )
    graph = reflect(engine)
    table = graph.tables["o"].table
    columns = graph.tables["o"].columns
    with engine.begin() as conn:
        cache: dict[Any, Any] = {}
        for _ in range(3):  # the same cached statement, each time through a new cursor
            parts = list(
                fetch_chunks(conn, table, columns, ["owner"], [1], bare=True, rows_per_part=10, cache=cache)
            )
            assert [len(p) for p in parts] == [10, 10, 5]
            assert sorted(r for p in parts for r in p) == [(i, 1, f"n{i}") for i in range(1, 26)]
        exact = list(
            fetch_chunks(conn, table, columns, ["owner"], [2], bare=True, rows_per_part=5, cache=cache)
        )
        assert [len(p) for p in exact] == [5]
        nothing = list(fetch_chunks(conn, table, columns, ["owner"], [3], bare=True, cache=cache))
        assert nothing == []
    engine.dispose()


@pytest.mark.parametrize("dialect", ["postgresql", "mysql", "sqlite"])
def test_count_matches_per_value(dialect: str, new_database: Any) -> None:
    """Rows per value of a column, for values given in several chunks; values without rows are left out."""
    engine = _table_with_rows(
        new_database(dialect),
        "CREATE TABLE c (id integer PRIMARY KEY, owner integer, code varchar(10))",
        [{"id": i, "owner": i % 4, "code": f"k{i % 3}"} for i in range(1, 41)],
    )
    table = reflect(engine).tables["c"].table
    with engine.connect() as conn:
        assert count_matches(conn, table, "owner", [0, 1, 2, 7], chunk=2) == {0: 10, 1: 10, 2: 10}
        assert count_matches(conn, table, "code", ["k0", "k2", "zz"]) == {"k0": 13, "k2": 13}
        assert count_matches(conn, table, "owner", []) == {}
    engine.dispose()
