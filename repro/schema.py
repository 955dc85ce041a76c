"""Reflection -> a graph of tables, primary keys and foreign keys (declared ones plus virtual ones from config)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from repro.config import VirtualForeignKey
from repro.db import describe_db_error, redact_url
from repro.errors import ConfigError, DatabaseError


@dataclass(frozen=True)
class ForeignKey:
    """An edge `table(columns) -> ref_table(ref_columns)`."""

    table: str
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]
    nullable: bool
    virtual: bool = False

    @property
    def label(self) -> str:
        cols = self.columns[0] if len(self.columns) == 1 else f"({','.join(self.columns)})"
        rcols = self.ref_columns[0] if len(self.ref_columns) == 1 else f"({','.join(self.ref_columns)})"
        return f"{self.table}.{cols} -> {self.ref_table}.{rcols}"

    @property
    def ref(self) -> str:
        """The `table.column` spelling used by subset.skip / subset.follow."""
        cols = self.columns[0] if len(self.columns) == 1 else f"({','.join(self.columns)})"
        return f"{self.table}.{cols}"

    @property
    def is_self_reference(self) -> bool:
        return self.table == self.ref_table


@dataclass
class TableInfo:
    """One reflected table: its columns in order, primary key and unique column sets."""

    name: str
    columns: list[str]
    primary_key: tuple[str, ...]
    table: sa.Table
    unique: list[tuple[str, ...]] = field(default_factory=list)

    def column_type(self, column: str) -> sa.types.TypeEngine[Any]:
        return self.table.c[column].type


@dataclass
class SchemaGraph:
    """Tables and foreign-key edges of one database schema."""

    tables: dict[str, TableInfo]
    foreign_keys: list[ForeignKey]
    metadata: sa.MetaData
    dialect: str = ""

    def table(self, name: str) -> TableInfo:
        try:
            return self.tables[name]
        except KeyError:
            raise ConfigError(f"table '{name}' does not exist in the source schema") from None

    def parents_of(self, table: str) -> list[ForeignKey]:
        """Edges from `table` to the tables it references."""
        return [fk for fk in self.foreign_keys if fk.table == table]

    def children_of(self, table: str) -> list[ForeignKey]:
        """Edges from other tables (or itself) that reference `table`."""
        return [fk for fk in self.foreign_keys if fk.ref_table == table]

    def key_columns(self, table: str) -> set[str]:
        """Primary-key and foreign-key columns of a table (kept by masking unless a rule says otherwise)."""
        info = self.table(table)
        keys = set(info.primary_key)
        for fk in self.foreign_keys:
            if fk.table == table:
                keys.update(fk.columns)
        return keys

    def fingerprint(self, tables: Iterable[str] | None = None) -> str:
        """sha256 over table names, columns, generic types, primary and foreign keys."""
        names = sorted(tables) if tables is not None else sorted(self.tables)
        desc = []
        for name in names:
            info = self.tables[name]
            desc.append(
                {
                    "table": name,
                    "columns": [[c, generic_type_name(info.table.c[c].type)] for c in info.columns],
                    "pk": list(info.primary_key),
                    "fks": sorted(fk.label for fk in self.parents_of(name) if not fk.virtual),
                }
            )
        blob = json.dumps(desc, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()


def generic_type_name(coltype: sa.types.TypeEngine[Any]) -> str:
    """A dialect-neutral name for a column type (`integer`, `text`, `json`, ...)."""
    try:
        generic = coltype.as_generic()
    except NotImplementedError:
        generic = coltype
    return type(generic).__name__.lower()


def _normalise_type(column: sa.Column[Any]) -> None:
    """Reflected types that would change values on the way through: keep them exact.

    A JSON column's SQL NULL stays SQL NULL (not the JSON `null`); in a NOT NULL JSON column a None can only be
    the JSON `null`, so it is written back as one. A float column reads as a float (MariaDB reflects DOUBLE as a
    Decimal rounded to 10 places otherwise).
    """
    coltype = column.type
    if isinstance(coltype, sa.JSON):
        coltype.none_as_null = bool(column.nullable)
    elif isinstance(coltype, sa.Float) and getattr(coltype, "asdecimal", False):
        coltype.asdecimal = False


def reflect(
    bind: Engine | Connection,
    schema: str | None = None,
    virtual_foreign_keys: Iterable[VirtualForeignKey] = (),
) -> SchemaGraph:
    """Reflect every table of a schema into a SchemaGraph, adding virtual foreign keys from config."""
    from repro.schema_cache import reflected_metadata

    try:
        metadata = reflected_metadata(bind, schema)
    except sa.exc.DBAPIError as exc:
        url = bind.engine.url if isinstance(bind, Connection) else bind.url
        raise DatabaseError(
            f"cannot read the schema of {redact_url(url)}: {describe_db_error(exc)}"
        ) from None
    for sa_table in metadata.tables.values():
        for column in sa_table.columns:
            _normalise_type(column)
    tables: dict[str, TableInfo] = {}
    fks: list[ForeignKey] = []
    for table in sorted(metadata.tables.values(), key=lambda t: t.name):
        name = table.name
        pk = tuple(c.name for c in table.primary_key.columns)
        uniques = [
            tuple(c.name for c in cons.columns)
            for cons in table.constraints
            if isinstance(cons, sa.UniqueConstraint)
        ]
        uniques += [tuple(c.name for c in idx.columns) for idx in table.indexes if idx.unique]
        tables[name] = TableInfo(
            name=name, columns=[c.name for c in table.columns], primary_key=pk, table=table, unique=uniques
        )
    for table in sorted(metadata.tables.values(), key=lambda t: t.name):
        for cons in table.foreign_key_constraints:
            ref = cons.referred_table
            if ref.name not in tables:
                continue  # a reference into another schema: not part of the graph
            cols = tuple(c.name for c in cons.columns)
            ref_cols = tuple(el.column.name for el in cons.elements)
            nullable = all(table.c[c].nullable for c in cols)
            fks.append(ForeignKey(table.name, cols, ref.name, ref_cols, nullable))
    graph = SchemaGraph(tables=tables, foreign_keys=fks, metadata=metadata, dialect=bind.dialect.name)
    for vfk in virtual_foreign_keys:
        add_virtual_foreign_key(graph, vfk)
    return graph


def add_virtual_foreign_key(graph: SchemaGraph, vfk: VirtualForeignKey) -> None:
    for table, columns in ((vfk.table, vfk.columns), (vfk.ref_table, vfk.ref_columns)):
        info = graph.tables.get(table)
        if info is None:
            raise ConfigError(
                f"subset.virtual_foreign_keys: table '{table}' does not exist in the source schema"
            )
        for col in columns:
            if col not in info.columns:
                raise ConfigError(f"subset.virtual_foreign_keys: column '{table}.{col}' does not exist")
    sa_table = graph.tables[vfk.table].table
    nullable = all(sa_table.c[c].nullable for c in vfk.columns)
    fk = ForeignKey(vfk.table, vfk.columns, vfk.ref_table, vfk.ref_columns, nullable, virtual=True)
    if fk not in graph.foreign_keys:
        graph.foreign_keys.append(fk)
