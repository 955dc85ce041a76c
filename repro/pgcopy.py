"""Postgres fast path for the loader: COPY a batch into a temporary table, then upsert from it in one statement.

Used behind `repro.load.Loader` for tables whose column types all have a COPY text encoding here; anything
else (arrays, intervals, unknown types) takes the generic INSERT path. Both give identical rows.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from repro.db import pg_array_param, without_parameter_escapes

Encoder = Callable[[Any], str]
COPY_CHUNK = 1 << 20  # bytes handed to libpq per read of the buffer

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _text(value: Any) -> str:
    return str(value).translate(_ESCAPES)


def _json(value: Any) -> str:
    # The serializer of SQLAlchemy's JSON type with its defaults: a json column keeps its text exactly as
    # written, so both load paths must write the same text.
    return json.dumps(value).translate(_ESCAPES)


def _bool(value: Any) -> str:
    # As strictly as SQLAlchemy's Boolean on the INSERT path: a text like 'no' is an error, never TRUE.
    if value is not True and value is not False:
        if not isinstance(value, int):
            raise TypeError(f"Not a boolean value: {value!r}")
        if value not in (0, 1):
            raise ValueError(f"Value {value!r} is not None, True, or False")
    return "t" if value else "f"


def _bytes(value: Any) -> str:
    return "\\\\x" + bytes(value).hex()


def encoder_for(coltype: sa.types.TypeEngine[Any]) -> Encoder | None:
    """The COPY text encoder of a column type, or None when this fast path does not handle it."""
    name = type(coltype).__name__.upper()
    if isinstance(coltype, sa.ARRAY) or name in ("INTERVAL", "HSTORE", "TSVECTOR", "NULLTYPE"):
        return None
    if isinstance(coltype, sa.JSON) or name in ("JSON", "JSONB"):
        return _json
    if isinstance(coltype, sa.Boolean):
        return _bool
    if isinstance(coltype, sa.LargeBinary) or name == "BYTEA":
        return _bytes
    if isinstance(coltype, sa.Float):
        return repr  # the shortest text that reads back as the same float
    if isinstance(coltype, sa.Integer | sa.Numeric | sa.Date | sa.DateTime | sa.Time | sa.Uuid):
        return str  # these text forms never hold a tab, newline or backslash
    if isinstance(coltype, sa.String | sa.Text | sa.Enum) or name in (
        "UUID",
        "INET",
        "CIDR",
        "MACADDR",
        "MONEY",
        "CITEXT",
    ):
        return _text
    return None


_SPECIAL = ("\\", "\t", "\n", "\r")


def encode_column(values: Sequence[Any], enc: Encoder, null: str) -> list[str]:
    """The COPY text of one column's values; the same as `enc` cell by cell, with fast paths for whole
    columns of plain values (numbers, dates, text without escapes)."""
    if enc is _text:
        texts = [v if type(v) is str else (None if v is None else str(v)) for v in values]
        probe = "\x00".join(filter(None, texts))
        if any(c in probe for c in _SPECIAL):
            return [null if t is None else t.translate(_ESCAPES) for t in texts]
        return [null if t is None else t for t in texts]
    if enc is str and None not in values:
        return list(map(str, values))
    return [null if v is None else enc(v) for v in values]


def encode_rows(rows: Sequence[Sequence[Any]], encoders: Sequence[Encoder], nulls: Sequence[str]) -> str:
    """COPY text format of rows: columns encoded as wholes, then joined line by line."""
    if not rows:
        return ""
    columns = [
        encode_column(values, enc, null)
        for values, enc, null in zip(zip(*rows, strict=True), encoders, nulls, strict=True)
    ]
    return "\n".join(map("\t".join, zip(*columns, strict=True))) + "\n"


class CopyUpserter:
    """Upserts batches of one table through COPY into a transaction-scoped temporary table."""

    def __init__(
        self,
        conn: Connection,
        table: sa.Table,
        pk: Sequence[str],
        columns: Sequence[str],
        encoders: Sequence[Encoder],
        index: int,
        nulls: Sequence[str] | None = None,
    ) -> None:
        self.conn = conn
        self.columns = list(columns)
        self.encoders = list(encoders)
        self.nulls = list(nulls) if nulls is not None else ["\\N"] * len(self.columns)
        preparer = conn.dialect.identifier_preparer
        self.target = preparer.format_table(table)
        self.temp = preparer.quote(f"repro_load_{index}")
        cols = ", ".join(preparer.quote(c) for c in columns)
        updates = [c for c in columns if c not in pk]
        conflict = ", ".join(preparer.quote(c) for c in pk)
        if updates:
            action = "DO UPDATE SET " + ", ".join(
                f"{preparer.quote(c)} = EXCLUDED.{preparer.quote(c)}" for c in updates
            )
        else:
            action = "DO NOTHING"
        self.copy_sql = without_parameter_escapes(conn, f"COPY {self.temp} ({cols}) FROM STDIN")
        self.direct_copy_sql = without_parameter_escapes(conn, f"COPY {self.target} ({cols}) FROM STDIN")
        # Single-column keys: a batch none of whose keys is on staging yet is COPYed straight into the table.
        self.key_position = list(columns).index(pk[0]) if len(pk) == 1 else None
        pk_type = table.c[pk[0]].type
        self.exists_sql = f"SELECT 1 FROM {self.target} WHERE {conflict} = ANY(%(keys)s::{pk_type.compile(conn.dialect)}[]) LIMIT 1"
        self.upsert_sql = without_parameter_escapes(
            conn,
            f"INSERT INTO {self.target} ({cols}) SELECT {cols} FROM {self.temp} ON CONFLICT ({conflict}) {action}",
        )
        self.create_temp_sql = without_parameter_escapes(
            conn, f"CREATE TEMPORARY TABLE {self.temp} (LIKE {self.target} INCLUDING DEFAULTS) ON COMMIT DROP"
        )
        self.temp_ready = False  # created on the first batch that needs an upsert
        self.codec = _python_codec(conn)

    def encode(self, rows: Sequence[Sequence[Any]]) -> bytes:
        """The COPY data of rows, in the session's encoding (the driver then sends it as it is)."""
        return encode_rows(rows, self.encoders, self.nulls).encode(self.codec)

    def write(
        self, rows: Sequence[Sequence[Any]], *, table_was_empty: bool = False, data: bytes | None = None
    ) -> None:
        """Upsert rows; `table_was_empty`: the table held no row before this load (keys never repeat within
        a load, so every batch then goes straight in); `data`: the rows' `encode`, if done already."""
        buffer = io.BytesIO(self.encode(rows) if data is None else data)
        cursor = self.conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            # Single-column keys are looked up; a table empty before the load needs no lookup at all.
            if table_was_empty or (self.key_position is not None and not self._any_key_present(cursor, rows)):
                cursor.copy_expert(self.direct_copy_sql, buffer, size=COPY_CHUNK)
                return
            if not self.temp_ready:
                cursor.execute(self.create_temp_sql)
                self.temp_ready = True
            cursor.copy_expert(self.copy_sql, buffer, size=COPY_CHUNK)
            cursor.execute(self.upsert_sql)
            cursor.execute(f"TRUNCATE {self.temp}")
        finally:
            cursor.close()

    def copy_in(self, data: bytes) -> None:
        """COPY encoded rows straight into the table (none of their keys is on staging yet)."""
        cursor = self.conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.copy_expert(self.direct_copy_sql, io.BytesIO(data), size=COPY_CHUNK)
        finally:
            cursor.close()

    def _any_key_present(self, cursor: Any, rows: Sequence[Sequence[Any]]) -> bool:
        assert self.key_position is not None
        keys = pg_array_param([row[self.key_position] for row in rows])
        cursor.execute(self.exists_sql, {"keys": keys})
        return cursor.fetchone() is not None


def copy_upserter(
    conn: Connection, table: sa.Table, pk: Sequence[str], columns: Sequence[str], index: int
) -> CopyUpserter | None:
    """A CopyUpserter for the table, or None when a column type needs the generic path."""
    if not pk:
        return None
    encoders = [encoder_for(table.c[c].type) for c in columns]
    if any(e is None for e in encoders):
        return None
    nulls = [_null_text(table.c[c].type) for c in columns]
    return CopyUpserter(conn, table, pk, columns, [e for e in encoders if e is not None], index, nulls)


def _python_codec(conn: Connection) -> str:
    """The Python codec of the session's client encoding."""
    import psycopg2.extensions  # only on this Postgres path

    encoding = conn.connection.dbapi_connection.encoding  # type: ignore[union-attr]
    return str(psycopg2.extensions.encodings.get(encoding, "utf-8"))


def _null_text(coltype: sa.types.TypeEngine[Any]) -> str:
    """How None is written: SQL NULL, except in a JSON column that stores None as the JSON `null` (as INSERT does)."""
    if isinstance(coltype, sa.JSON) and not coltype.none_as_null:
        return "null"
    return "\\N"
