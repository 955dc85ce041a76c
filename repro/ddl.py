"""`--create-schema`: create missing tables in a target from the source's reflected metadata.

Types are carried over as they are between databases of the same kind, and through their generic SQLAlchemy
form otherwise (a Postgres JSONB becomes JSON, an array becomes JSON, an enum a string), so the demo and fresh
staging databases can be created on any of the three.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from repro.db import connect, describe_db_error, dialect_name
from repro.errors import DatabaseError
from repro.schema import SchemaGraph


def portable_type(coltype: sa.types.TypeEngine[Any], source: str, target: str) -> sa.types.TypeEngine[Any]:
    """The column type to create on `target` for a column reflected from `source`."""
    if source == target:
        return coltype
    if isinstance(coltype, sa.ARRAY | sa.JSON) or type(coltype).__name__ in ("JSONB", "JSON", "HSTORE"):
        return sa.JSON()
    if isinstance(coltype, sa.Enum):
        return sa.String(max((len(e) for e in coltype.enums), default=32))
    if type(coltype).__name__ == "UUID":
        return sa.Uuid()
    try:
        generic = coltype.as_generic()
    except NotImplementedError:
        return sa.Text()
    if isinstance(generic, sa.String) and not isinstance(generic, sa.Text) and generic.length is None:
        return sa.Text() if target == "mysql" else sa.String()
    if isinstance(generic, sa.DateTime):
        return sa.DateTime(timezone=generic.timezone)
    return generic


def create_missing_tables(engine: Engine, source: SchemaGraph, tables: Iterable[str]) -> list[str]:
    """Create the tables of `tables` that the target lacks; returns their names."""
    target = dialect_name(engine)
    src = "mysql" if source.dialect == "mariadb" else source.dialect
    existing = set(sa.inspect(engine).get_table_names())
    wanted = sorted(set(tables) - existing)
    if not wanted:
        return []
    metadata = sa.MetaData()
    for name in wanted:
        sa_table = source.tables[name].table
        columns = [
            sa.Column(
                col.name,
                portable_type(col.type, src, target),
                primary_key=col.primary_key,
                nullable=col.nullable,
                autoincrement=col.autoincrement if col.primary_key else False,
            )
            for col in sa_table.columns
        ]
        constraints: list[sa.schema.SchemaItem] = []
        for fk in source.parents_of(name):
            if fk.virtual or fk.ref_table not in wanted:
                continue
            constraints.append(
                sa.ForeignKeyConstraint(
                    list(fk.columns),
                    [f"{fk.ref_table}.{c}" for c in fk.ref_columns],
                    use_alter=target != "sqlite",
                    name=f"fk_{name}_{'_'.join(fk.columns)}"[:60],
                )
            )
        for cols in source.tables[name].unique:
            if set(cols) != set(source.tables[name].primary_key):
                constraints.append(sa.UniqueConstraint(*cols))
        sa.Table(name, metadata, *columns, *constraints)
    try:
        with connect(engine) as conn, conn.begin():
            metadata.create_all(conn)
    except sa.exc.DBAPIError as exc:
        raise DatabaseError(f"creating the staging schema failed: {describe_db_error(exc)}") from None
    return wanted
