"""Writing the demo database at any URL: `build_demo_database` and its `DemoResult`."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from repro.db import (
    connect,
    create_engine,
    describe_db_error,
    dialect_name,
    parse_url,
    quote_ident,
    redact_url,
)
from repro.demo.generate import generate_demo_rows
from repro.demo.schema import Rows, demo_metadata
from repro.errors import DatabaseError, UsageError


@dataclass(frozen=True)
class DemoResult:
    """What `build_demo_database` wrote: rows per table, in creation order."""

    url: str  # password redacted
    seed: int
    users: int
    counts: dict[str, int]
    elapsed_s: float

    @property
    def total_rows(self) -> int:
        return sum(self.counts.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "seed": self.seed,
            "users": self.users,
            "counts": self.counts,
            "total_rows": self.total_rows,
            "elapsed_s": round(self.elapsed_s, 3),
        }


def build_demo_database(url: str, *, seed: int = 42, users: int = 200, force: bool = False) -> DemoResult:
    """Create the demo tables at `url` and fill them; refuses a non-empty database unless `force`."""
    started = time.perf_counter()
    rows = generate_demo_rows(seed, users)
    _make_sqlite_folder(url)
    md = demo_metadata()
    engine = create_engine(url)
    shown = redact_url(engine.url)
    try:
        with connect(engine) as conn:
            existing = sa.inspect(conn).get_table_names()
            conn.rollback()
            if existing and not force:
                raise UsageError(
                    f"{shown} is not empty ({len(existing)} tables); "
                    "pass --force to drop and recreate the demo tables"
                )
            _drop_demo_tables(conn, [t for t in md.tables if t in existing])
            md.create_all(conn)
            conn.commit()
            _insert_rows(conn, md, rows)  # one transaction for all the data
            conn.commit()
    except sa.exc.SQLAlchemyError as exc:
        raise DatabaseError(f"cannot build the demo database at {shown}: {describe_db_error(exc)}") from None
    finally:
        engine.dispose()
    counts = {name: len(rows[name]) for name in md.tables}
    return DemoResult(shown, seed, users, counts, time.perf_counter() - started)


def _make_sqlite_folder(url: str) -> None:
    parsed = parse_url(url)
    database = parsed.database or ""
    if (
        parsed.get_backend_name() == "sqlite"
        and database not in ("", ":memory:")
        and not database.startswith("file:")
    ):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _drop_demo_tables(conn: Connection, names: list[str]) -> None:
    """Drop the demo tables whatever constraints an earlier build left between them (other tables stay)."""
    if not names:
        return
    dialect = dialect_name(conn)
    # The checks are off only while dropping; SQLite's pragma is a no-op inside a transaction, and here
    # none is open yet (the driver begins one only before DML).
    checks = {"mysql": "SET FOREIGN_KEY_CHECKS = {}", "sqlite": "PRAGMA foreign_keys = {}"}.get(dialect)
    if checks:
        conn.exec_driver_sql(checks.format(0))
    for name in names:
        cascade = " CASCADE" if dialect == "postgresql" else ""
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {quote_ident(conn, name)}{cascade}")
    if checks:
        conn.exec_driver_sql(checks.format(1))


def _insert_rows(conn: Connection, md: sa.MetaData, rows: Rows) -> None:
    """Bulk inserts in dependency order; the organization owners (the cycle) are set afterwards."""
    orgs = md.tables["organizations"]
    for table in md.sorted_tables:
        data = rows[table.name]
        if table is orgs:
            data = [{**r, "owner_id": None} for r in data]
        if data:
            conn.execute(table.insert(), data)
    owners = [{"org": r["id"], "owner": r["owner_id"]} for r in rows["organizations"]]
    conn.execute(
        sa.update(orgs).where(orgs.c.id == sa.bindparam("org")).values(owner_id=sa.bindparam("owner")), owners
    )
    if dialect_name(conn) == "postgresql":  # explicit ids leave serial sequences behind: move them past
        for table in md.sorted_tables:
            if table.autoincrement_column is not None and rows[table.name]:
                column = table.autoincrement_column.name
                conn.execute(
                    sa.text("SELECT setval(pg_get_serial_sequence(:t, :c), :v)"),
                    {"t": table.name, "c": column, "v": max(r[column] for r in rows[table.name])},
                )
