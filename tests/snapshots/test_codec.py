"""Cell encoding per column type: exact round trips, readable JSON, clear refusals."""

from __future__ import annotations

import datetime as dt
import json
import math
import uuid
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql, sqlite

from repro.errors import SnapshotError, SnapshotIntegrityError
from repro.snapshots.codec import JSON_NULL, codec_for_type, decoder, encoder, target_adapter

UTC2 = dt.timezone(dt.timedelta(hours=2))

CASES: list[tuple[sa.types.TypeEngine[Any], Any, Any]] = [
    # (column type, Python value, its JSON spelling)
    (sa.Integer(), 42, 42),
    (sa.BigInteger(), 2**63 - 1, str(2**63 - 1)),
    (sa.BigInteger(), -(2**63), str(-(2**63))),
    (sa.Numeric(12, 2), Decimal("12.50"), "12.50"),
    (sa.Numeric(), Decimal("-0.000000000000000000001"), "-1E-21"),
    (sa.Double(), 0.1 + 0.2, 0.30000000000000004),
    (sa.Float(), float("inf"), "Infinity"),
    (postgresql.DOUBLE_PRECISION(), -0.0, -0.0),
    (sa.Text(), 'Zoë 🐛 \u0000 "q"', 'Zoë 🐛 \u0000 "q"'),
    (sa.Boolean(), False, False),
    (sa.Date(), dt.date(1999, 12, 31), "1999-12-31"),
    (sa.DateTime(), dt.datetime(2026, 11, 27, 14, 12, 3, 123456), "2026-11-27T14:12:03.123456"),
    (sa.DateTime(timezone=True), dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC2), "2026-01-02T03:04:05+02:00"),
    (sa.Time(), dt.time(23, 59, 59, 999999), "23:59:59.999999"),
    (postgresql.TIME(timezone=True), dt.time(1, 2, 3, tzinfo=UTC2), "01:02:03+02:00"),
    (
        sa.Interval(),
        dt.timedelta(days=-1, seconds=5, microseconds=7),
        {"days": -1, "seconds": 5, "microseconds": 7},
    ),
    (sa.LargeBinary(), b"\x00\xff\x10", "AP8Q"),
    (postgresql.BYTEA(), b"", ""),
    (sa.JSON(), {"a": [1, 2.5, None, "x"], "b": {"c": True}}, '{"a":[1,2.5,null,"x"],"b":{"c":true}}'),
    (postgresql.JSONB(), "just a string", '"just a string"'),
    (sa.JSON(), [], "[]"),
    (sa.JSON(), 3, "3"),
    (sa.JSON(), JSON_NULL, "null"),
    (sa.Uuid(), uuid.UUID("12345678-1234-5678-1234-567812345678"), "12345678-1234-5678-1234-567812345678"),
    (sa.Uuid(as_uuid=False), "12345678123456781234567812345678", "12345678123456781234567812345678"),
    (postgresql.ARRAY(sa.Integer()), [1, None, 3], [1, None, 3]),
    (postgresql.ARRAY(sa.Integer(), dimensions=2), [[1, 2], [3, 4]], [[1, 2], [3, 4]]),
    (postgresql.ARRAY(sa.Numeric()), [Decimal("1.10")], ["1.10"]),
    (postgresql.ENUM("happy", "sad", name="mood"), "sad", "sad"),
    (mysql.ENUM("a", "b"), "a", "a"),
    (mysql.TINYINT(display_width=1), 1, 1),
    (sqlite.DATETIME(), dt.datetime(2020, 1, 1), "2020-01-01T00:00:00"),  # type: ignore[no-untyped-call]
    (sa.types.NullType(), 5, 5),
    (postgresql.INET(), "10.0.0.1", "10.0.0.1"),
]


@pytest.mark.parametrize(
    ("coltype", "value", "spelled"), CASES, ids=[f"{type(c[0]).__name__}-{i}" for i, c in enumerate(CASES)]
)
def test_round_trip_exact(coltype: sa.types.TypeEngine[Any], value: Any, spelled: Any) -> None:
    spec = codec_for_type(coltype)
    encoded = encoder(spec, "t.c")(value)
    assert encoded == spelled
    text = json.dumps(encoded, allow_nan=False)  # plain JSON, readable by jq
    decoded = decoder(spec, "t.c")(json.loads(text))
    if isinstance(value, float) and math.isnan(value):
        assert math.isnan(decoded)
    else:
        assert decoded == value
        assert type(decoded) is type(value)
    if isinstance(value, dt.datetime | dt.time):
        assert decoded.tzinfo == value.tzinfo or decoded.utcoffset() == value.utcoffset()
    if isinstance(value, float):
        assert math.copysign(1, decoded) == math.copysign(1, value)


def test_nan_is_a_string() -> None:
    spec = codec_for_type(sa.Float())
    assert encoder(spec, "t.c")(float("nan")) == "NaN"
    assert math.isnan(decoder(spec, "t.c")("NaN"))


def test_sql_null_and_json_null_differ() -> None:
    spec = codec_for_type(sa.JSON())
    enc, dec = encoder(spec, "t.doc"), decoder(spec, "t.doc")
    assert enc(None) is None
    assert enc(JSON_NULL) == "null"
    assert dec(None) is None
    assert dec("null") is JSON_NULL


@pytest.mark.parametrize(
    ("coltype", "value", "message"),
    [
        (sa.Integer(), "12", "t.c: cannot store a str value in a int column"),
        (sa.Date(), dt.datetime(2020, 1, 1), "t.c: cannot store a datetime value in a date column"),
        (sa.Text(), 5, "t.c: cannot store a int value in a text column"),
        (sa.JSON(), {1, 2}, "t.c: cannot store a set value in a json column"),
        (sa.Uuid(), "not-a-uuid", "t.c: cannot store a str value in a uuid column"),
        (sa.Boolean(), 2, "t.c: cannot store a int value in a bool column"),
    ],
)
def test_values_that_do_not_fit_are_refused(
    coltype: sa.types.TypeEngine[Any], value: Any, message: str
) -> None:
    with pytest.raises(SnapshotError, match=f"^{message}$"):
        encoder(codec_for_type(coltype), "t.c")(value)


@pytest.mark.parametrize(
    ("spec", "cell"),
    [
        ({"codec": "int"}, "x1"),
        ({"codec": "decimal"}, 1.5),
        ({"codec": "bytes"}, "%%%"),
        ({"codec": "bool"}, 1),
        ({"codec": "date"}, "2020-13-01"),
        ({"codec": "json"}, "{"),
        ({"codec": "float"}, "1.5"),
    ],
)
def test_bad_cells_are_integrity_errors(spec: dict[str, Any], cell: Any) -> None:
    with pytest.raises(SnapshotIntegrityError, match=f"^data/t.jsonl.gz: a {spec['codec']} cell holds "):
        decoder(spec, "data/t.jsonl.gz")(cell)


def test_unknown_codec_in_a_manifest() -> None:
    with pytest.raises(SnapshotIntegrityError, match="unknown column codec 'pickle'"):
        decoder({"codec": "pickle"}, "x")


def test_target_adapters_bridge_dialects() -> None:
    to_text = target_adapter({"codec": "json"}, mysql.LONGTEXT())
    assert to_text is not None and to_text({"a": 1}) == '{"a": 1}' and to_text(JSON_NULL) == "null"
    from_text = target_adapter({"codec": "text"}, postgresql.JSONB())
    assert from_text is not None and from_text('{"a": 1}') == {"a": 1} and from_text("null") is JSON_NULL
    to_char32 = target_adapter({"codec": "uuid"}, sa.CHAR(32))
    u = uuid.UUID("12345678-1234-5678-1234-567812345678")
    assert to_char32 is not None and to_char32(u) == u.hex
    to_uuid = target_adapter({"codec": "text"}, postgresql.UUID())
    assert to_uuid is not None and to_uuid(u.hex) == u
    to_int = target_adapter({"codec": "bool"}, mysql.TINYINT(1))
    assert to_int is not None and to_int(True) == 1
    to_json = target_adapter({"codec": "json"}, sa.JSON())
    assert to_json is not None and to_json({"a": 1}) == {"a": 1} and to_json(JSON_NULL) is JSON_NULL
    assert isinstance(
        to_json(None), sa.sql.elements.Null
    )  # SQL NULL, where a bare None would bind as JSON null
    assert target_adapter({"codec": "json"}, sa.JSON(none_as_null=True)) is None
    assert target_adapter({"codec": "int"}, sa.BigInteger()) is None
