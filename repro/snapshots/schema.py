"""`restore --create-schema`: the tables of a snapshot, rebuilt from its manifest for a target database."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql
from sqlalchemy.engine import Engine

from repro.db import dialect_name
from repro.ddl import create_missing_tables
from repro.schema import ForeignKey, SchemaGraph, TableInfo
from repro.snapshots.manifest import ColumnEntry, Manifest

_SIMPLE: dict[str, Any] = {
    "integer": sa.Integer,
    "biginteger": sa.BigInteger,
    "smallinteger": sa.SmallInteger,
    "float": sa.Float,
    "double": sa.Double,
    "boolean": sa.Boolean,
    "date": sa.Date,
    "interval": sa.Interval,
    "largebinary": sa.LargeBinary,
    "uuid": sa.Uuid,
    "text": sa.Text,
    "unicodetext": sa.Text,
}
_BY_CODEC: dict[str, Any] = {
    "int": sa.BigInteger,
    "decimal": sa.Numeric,
    "float": sa.Double,
    "bool": sa.Boolean,
    "date": sa.Date,
    "datetime": sa.DateTime,
    "time": sa.Time,
    "interval": sa.Interval,
    "bytes": sa.LargeBinary,
    "json": sa.JSON,
    "uuid": sa.Uuid,
}


def column_type(
    type_name: str,
    details: dict[str, Any],
    codec: dict[str, Any],
    sql: str,
    target: str,
    label: str,
    key: bool,
) -> sa.types.TypeEngine[Any]:
    """A type for `target` ('sqlite', 'postgresql', 'mysql') that holds the values the manifest describes."""
    if codec.get("codec") == "array":
        if target != "postgresql":
            return sa.JSON()
        item = column_type(
            str(details.get("item_type", "")),
            details.get("item", {}),
            codec["item"],
            "",
            target,
            label,
            False,
        )
        return postgresql.ARRAY(item, dimensions=details.get("dimensions"))
    if "enum" in details:
        return sa.Enum(*details["enum"], name=details.get("enum_name") or label)
    if type_name in ("json", "jsonb"):
        return postgresql.JSONB() if target == "postgresql" and sql.upper() == "JSONB" else sa.JSON()
    if type_name == "numeric":
        return sa.Numeric(details.get("precision"), details.get("scale"))
    if type_name in ("datetime", "time"):
        if target == "mysql":  # keep microseconds: MariaDB's default precision is whole seconds
            return mysql.DATETIME(fsp=6) if type_name == "datetime" else mysql.TIME(fsp=6)
        kind = sa.DateTime if type_name == "datetime" else sa.Time
        return kind(timezone=bool(details.get("timezone")))
    if type_name in ("string", "unicode"):
        length = details.get("length")
        if length is None and target == "mysql":
            return sa.String(255) if key else sa.Text()
        return sa.String(length)
    simple = _SIMPLE.get(type_name) or _BY_CODEC.get(str(codec.get("codec")))
    if simple is not None:
        made: sa.types.TypeEngine[Any] = simple()
        return made
    return sa.String(255) if key and target == "mysql" else sa.Text()


def _column(entry: ColumnEntry, table: str, primary_key: tuple[str, ...], target: str) -> sa.Column[Any]:
    key = entry.name in primary_key
    coltype = column_type(
        entry.type, entry.details, entry.codec, entry.sql, target, f"{table}_{entry.name}", key
    )
    return sa.Column(entry.name, coltype, primary_key=key, nullable=not key)


def snapshot_graph(manifest: Manifest, target: str) -> SchemaGraph:
    """A SchemaGraph of the snapshot's tables with types for `target` (as if reflected from a source)."""
    metadata = sa.MetaData()
    tables: dict[str, TableInfo] = {}
    fks: list[ForeignKey] = []
    for entry in manifest.tables:
        table = sa.Table(
            entry.name, metadata, *(_column(c, entry.name, entry.primary_key, target) for c in entry.columns)
        )
        tables[entry.name] = TableInfo(entry.name, list(entry.column_names), entry.primary_key, table)
        for fk in entry.foreign_keys:
            fks.append(ForeignKey(entry.name, fk.columns, fk.ref_table, fk.ref_columns, nullable=True))
    return SchemaGraph(tables=tables, foreign_keys=fks, metadata=metadata, dialect=target)


def create_snapshot_tables(engine: Engine, manifest: Manifest) -> list[str]:
    """Create the snapshot's tables that the target lacks; returns their names."""
    graph = snapshot_graph(manifest, dialect_name(engine))
    return create_missing_tables(engine, graph, [t.name for t in manifest.tables])
