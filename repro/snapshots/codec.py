"""Column values <-> JSON values in snapshot data files, chosen per column from its SQLAlchemy type.

Each column's codec is recorded in the manifest, so a reader (or `jq`) knows how a cell is spelled:

    int       JSON number; beyond +-2**53 a decimal string (jq and JavaScript would round a bigger number)
    decimal   decimal string, scale kept ("12.50")
    float     JSON number in Python's shortest exact repr; "NaN", "Infinity", "-Infinity" as strings
    bool      true / false
    text      string (also enums and types repro does not know but whose values are strings)
    date, datetime, time   ISO 8601 strings; an aware datetime/time carries its UTC offset
    interval  {"days": d, "seconds": s, "microseconds": us}
    bytes     base64 string
    json      the document as JSON text ("null" is a JSON null; a JSON null cell is SQL NULL)
    uuid      canonical 8-4-4-4-12 string
    array     JSON array (nested for several dimensions) of the item codec
    any       string, number, boolean (untyped SQLite columns)

A SQL NULL is always JSON null.
"""

from __future__ import annotations

import base64
import datetime as dt
import enum
import json
import math
import uuid
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa

from repro.errors import SnapshotError, SnapshotIntegrityError

# The Python value of a JSON column that holds a JSON null (as opposed to SQL NULL, which is None).
JSON_NULL: Any = sa.JSON.NULL

_SAFE_INT = 2**53
CODECS = ("int", "decimal", "float", "bool", "text", "date", "datetime", "time", "interval", "bytes", "json",
          "uuid", "array", "any")  # fmt: skip


def codec_for_type(coltype: sa.types.TypeEngine[Any]) -> dict[str, Any]:
    """{"codec": name, ...details} for a column type; an array's item codec under "item"."""
    if isinstance(coltype, sa.Interval):  # a TypeDecorator over DateTime where intervals are not native
        return {"codec": "interval"}
    if isinstance(coltype, sa.types.TypeDecorator):
        return codec_for_type(coltype.impl_instance)
    if isinstance(coltype, sa.ARRAY):
        return {"codec": "array", "item": codec_for_type(coltype.item_type)}
    if isinstance(coltype, sa.Enum):
        return {"codec": "text"}
    if isinstance(coltype, sa.JSON):
        return {"codec": "json"}
    if isinstance(coltype, sa.Boolean):
        return {"codec": "bool"}
    if isinstance(coltype, sa.Uuid):
        return {"codec": "uuid" if coltype.as_uuid else "text"}
    if isinstance(coltype, sa.Float) or (isinstance(coltype, sa.Numeric) and not coltype.asdecimal):
        return {"codec": "float"}
    if isinstance(coltype, sa.Numeric):
        return {"codec": "decimal"}
    if isinstance(coltype, sa.Integer):
        return {"codec": "int"}
    if isinstance(coltype, sa.DateTime):
        return {"codec": "datetime"}
    if isinstance(coltype, sa.Date):
        return {"codec": "date"}
    if isinstance(coltype, sa.Time):
        return {"codec": "time"}
    if isinstance(coltype, sa.LargeBinary | sa.BINARY | sa.VARBINARY):
        return {"codec": "bytes"}
    if isinstance(coltype, sa.String):
        return {"codec": "text"}
    if isinstance(coltype, sa.types.NullType):
        return {"codec": "any"}
    try:
        generic = coltype.as_generic()
    except NotImplementedError:
        return {"codec": "text"}
    if type(generic) is type(coltype):
        return {"codec": "text"}
    return codec_for_type(generic)


class _Refused(Exception):
    """A value that its column's codec cannot spell (turned into SnapshotError by the writer)."""


def _enc_int(v: Any) -> Any:
    if not isinstance(v, int):
        raise _Refused
    n = int(v)
    return n if -_SAFE_INT < n < _SAFE_INT else str(n)


def _enc_decimal(v: Any) -> Any:
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, int | float) and not isinstance(v, bool):
        return str(v) if isinstance(v, int) else repr(v)
    raise _Refused


def _enc_float(v: Any) -> Any:
    if isinstance(v, bool) or not isinstance(v, float | int | Decimal):
        raise _Refused
    f = float(v)
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "Infinity" if f > 0 else "-Infinity"
    return f


def _enc_bool(v: Any) -> Any:
    if isinstance(v, bool):
        return v
    if isinstance(v, int) and v in (0, 1):
        return bool(v)
    raise _Refused


def _enc_text(v: Any) -> Any:
    if isinstance(v, enum.Enum):
        return v.name
    if not isinstance(v, str):
        raise _Refused
    return v


def _enc_iso(kind: type[dt.date] | type[dt.time]) -> Callable[[Any], Any]:
    def enc(v: Any) -> Any:
        # A datetime is also a date: a Date column must get a pure date.
        if not isinstance(v, kind) or (kind is dt.date and isinstance(v, dt.datetime)):
            raise _Refused
        text: str = v.isoformat()
        return text

    return enc


def _enc_interval(v: Any) -> Any:
    if not isinstance(v, dt.timedelta):
        raise _Refused
    return {"days": v.days, "seconds": v.seconds, "microseconds": v.microseconds}


def _enc_bytes(v: Any) -> Any:
    if not isinstance(v, bytes | bytearray | memoryview):
        raise _Refused
    return base64.b64encode(bytes(v)).decode("ascii")


def _enc_json(v: Any) -> Any:
    if v is JSON_NULL:
        return "null"
    try:
        return json.dumps(v, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError):
        raise _Refused from None


def _enc_uuid(v: Any) -> Any:
    if isinstance(v, uuid.UUID):
        return str(v)
    if isinstance(v, str):
        try:
            return str(uuid.UUID(v))
        except ValueError:
            raise _Refused from None
    raise _Refused


def _enc_any(v: Any) -> Any:
    if isinstance(v, float):
        return _enc_float(v)
    if isinstance(v, str | int):
        return v
    raise _Refused


_ENCODERS: dict[str, Callable[[Any], Any]] = {
    "int": _enc_int,
    "decimal": _enc_decimal,
    "float": _enc_float,
    "bool": _enc_bool,
    "text": _enc_text,
    "date": _enc_iso(dt.date),
    "datetime": _enc_iso(dt.datetime),
    "time": _enc_iso(dt.time),
    "interval": _enc_interval,
    "bytes": _enc_bytes,
    "json": _enc_json,
    "uuid": _enc_uuid,
    "any": _enc_any,
}


def _dec_int(v: Any) -> Any:
    if isinstance(v, bool) or not isinstance(v, int | str):
        raise _Refused
    return int(v)


def _dec_float(v: Any) -> Any:
    if isinstance(v, bool) or not isinstance(v, int | float | str):
        raise _Refused
    if isinstance(v, str) and v not in ("NaN", "Infinity", "-Infinity"):
        raise _Refused
    return float(v)


def _dec_typed(kind: type, convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def dec(v: Any) -> Any:
        if not isinstance(v, kind) or isinstance(v, bool) is not (kind is bool):
            raise _Refused
        return convert(v)

    return dec


def _dec_json(v: Any) -> Any:
    if not isinstance(v, str):
        raise _Refused
    value = json.loads(v)
    return JSON_NULL if value is None else value


def _dec_interval(v: Any) -> Any:
    if not isinstance(v, dict) or set(v) != {"days", "seconds", "microseconds"}:
        raise _Refused
    return dt.timedelta(days=v["days"], seconds=v["seconds"], microseconds=v["microseconds"])


def _same(v: Any) -> Any:
    return v


_DECODERS: dict[str, Callable[[Any], Any]] = {
    "int": _dec_int,
    "decimal": _dec_typed(str, Decimal),
    "float": _dec_float,
    "bool": _dec_typed(bool, _same),
    "text": _dec_typed(str, _same),
    "date": _dec_typed(str, dt.date.fromisoformat),
    "datetime": _dec_typed(str, dt.datetime.fromisoformat),
    "time": _dec_typed(str, dt.time.fromisoformat),
    "interval": _dec_interval,
    "bytes": _dec_typed(str, lambda s: base64.b64decode(s, validate=True)),
    "json": _dec_json,
    "uuid": _dec_typed(str, uuid.UUID),
    "any": _same,
}


def _array(item: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def convert(v: Any) -> Any:
        if not isinstance(v, list | tuple):
            raise _Refused
        return [None if x is None else convert(x) if isinstance(x, list | tuple) else item(x) for x in v]

    return convert


def _build(spec: dict[str, Any], table: dict[str, Callable[[Any], Any]]) -> Callable[[Any], Any]:
    name = spec.get("codec")
    if name == "array":
        item = spec.get("item")
        if not isinstance(item, dict):
            raise SnapshotIntegrityError("manifest: an array column lacks its item codec")
        return _array(_build(item, table))
    if not isinstance(name, str) or name not in table:
        raise SnapshotIntegrityError(f"manifest: unknown column codec {name!r}")
    return table[name]


def encoder(spec: dict[str, Any], where: str) -> Callable[[Any], Any]:
    """A function value -> JSON value for a column; SnapshotError names `where` and the value's type."""
    convert = _build(spec, _ENCODERS)

    def encode(v: Any) -> Any:
        if v is None:
            return None
        try:
            return convert(v)
        except _Refused:
            raise SnapshotError(
                f"{where}: cannot store a {type(v).__name__} value in a {spec['codec']} column"
            ) from None

    return encode


_NONE = type(None)
_PLAIN_TYPES: dict[str, frozenset[type]] = {
    "int": frozenset({int, _NONE}),
    "text": frozenset({str, _NONE}),
}
# Codecs whose value -> JSON is one method call for values of exactly these types (the same text as `enc`).
_SIMPLE: dict[str, tuple[frozenset[type], Callable[[Any], Any]]] = {
    "decimal": (frozenset({Decimal, _NONE}), Decimal.__str__),
    "datetime": (frozenset({dt.datetime, _NONE}), dt.datetime.isoformat),
    "date": (frozenset({dt.date, _NONE}), dt.date.isoformat),
    "time": (frozenset({dt.time, _NONE}), dt.time.isoformat),
}


def encode_column(values: Sequence[Any], codec: str, enc: Callable[[Any], Any]) -> list[Any]:
    """`enc` applied to a whole column; columns of plain ints (JSON-safe) or plain text pass unchanged, and
    columns of exactly-typed decimals and dates take one method per value."""
    kinds = set(map(type, values))
    plain = _PLAIN_TYPES.get(codec)
    if plain is not None and kinds <= plain:
        if codec != "int":
            return list(values)
        numbers = values if _NONE not in kinds else [v for v in values if v is not None]
        if not numbers or (max(numbers) < _SAFE_INT and min(numbers) > -_SAFE_INT):
            return list(values)
    simple = _SIMPLE.get(codec)
    if simple is not None and kinds <= simple[0]:
        method = simple[1]
        if _NONE not in kinds:
            return list(map(method, values))
        return [None if v is None else method(v) for v in values]
    return [enc(v) for v in values]


def decoder(spec: dict[str, Any], where: str) -> Callable[[Any], Any]:
    """A function JSON value -> Python value for a column; SnapshotIntegrityError names `where`."""
    convert = _build(spec, _DECODERS)

    def decode(v: Any) -> Any:
        if v is None:
            return None
        try:
            return convert(v)
        except (_Refused, ValueError, TypeError, InvalidOperation, json.JSONDecodeError):
            raise SnapshotIntegrityError(f"{where}: a {spec['codec']} cell holds {_short(v)}") from None

    return decode


def _short(v: Any) -> str:
    text = json.dumps(v, ensure_ascii=False, default=str)
    return text if len(text) <= 40 else text[:37] + "..."


def target_adapter(spec: dict[str, Any], target: sa.types.TypeEngine[Any]) -> Callable[[Any], Any] | None:
    """Converts decoded values for a target column whose type differs in kind (None: they fit as they are).

    Covers restores across databases: JSON documents into a text column (MariaDB keeps JSON as LONGTEXT) and
    back, UUIDs into CHAR columns, booleans into integer columns.
    """
    if isinstance(target, sa.types.TypeDecorator):
        target = target.impl_instance
    codec = spec.get("codec")
    if isinstance(target, sa.JSON) and not target.none_as_null:
        # Such a column binds None as a JSON null; sa.null() is how SQLAlchemy is told to write SQL NULL.
        inner = target_adapter(spec, sa.JSON(none_as_null=True))
        return lambda v: sa.null() if v is None else (inner(v) if inner else v)
    if (
        codec in ("json", "array")
        and not isinstance(target, sa.JSON | sa.ARRAY)
        and isinstance(target, sa.String)
    ):
        return _skip_none(lambda v: "null" if v is JSON_NULL else json.dumps(v, ensure_ascii=False))
    if codec == "text" and isinstance(target, sa.JSON):
        return _skip_none(_parse_json_text)
    if codec == "uuid" and not isinstance(target, sa.Uuid):
        short = isinstance(target, sa.String) and target.length == 32
        return _skip_none(lambda v: v.hex if short else str(v))
    if codec == "text" and isinstance(target, sa.Uuid) and target.as_uuid:
        return _skip_none(uuid.UUID)
    if codec == "bool" and isinstance(target, sa.Integer):
        return _skip_none(int)
    if codec == "int" and isinstance(target, sa.Boolean):
        return _skip_none(bool)
    return None


def _skip_none(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda v: None if v is None else convert(v)


def _parse_json_text(text: str) -> Any:
    try:
        value = json.loads(text)
    except ValueError:
        return text  # not JSON after all: the database will say so
    return JSON_NULL if value is None else value
