"""Key lookups return the same Python values whatever path they take (Postgres array lookups on the driver's
cursor, IN lists through SQLAlchemy elsewhere)."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from repro.schema import reflect
from repro.subset.fetch import fetch_chunks

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
