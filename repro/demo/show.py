"""`repro demo show`: one user's production row next to the masked staging row, with related row counts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from repro.db import (
    connect,
    create_engine,
    describe_db_error,
    parse_url,
    redact_url,
)
from repro.demo.schema import Row, demo_metadata
from repro.errors import DatabaseError, NotFoundError


@dataclass(frozen=True)
class RelatedCount:
    table: str
    production: int
    staging: int | None  # None: the table does not exist on staging


@dataclass(frozen=True)
class DemoComparison:
    """One user's row in production next to the (masked) row on staging, and their related row counts."""

    user_id: int
    source: str
    target: str
    columns: tuple[str, ...]
    production: Row
    staging: Row | None  # None: the user has not been copied
    counts: tuple[RelatedCount, ...]

    def changed_columns(self) -> list[str]:
        if self.staging is None:
            return []
        return [c for c in self.columns if self.staging.get(c) != self.production.get(c)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "source": self.source,
            "target": self.target,
            "production": self.production,
            "staging": self.staging,
            "changed": self.changed_columns(),
            "counts": [
                {"table": c.table, "production": c.production, "staging": c.staging} for c in self.counts
            ],
        }


def describe_user(source_url: str, target_url: str, user_id: int) -> DemoComparison:
    """Read user `user_id` from production (read-only) and staging, for `repro demo show`."""
    md = demo_metadata()
    source = create_engine(source_url, read_only=True)
    try:
        with connect(source) as conn:
            production = _user_row(conn, md, user_id, None)
            if production is None:
                raise NotFoundError(f"user {user_id} not found in production ({redact_url(source.url)})")
            prod_counts = _related_counts(conn, md, user_id, set(md.tables))
    except sa.exc.SQLAlchemyError as exc:
        raise DatabaseError(f"cannot read {redact_url(source.url)}: {describe_db_error(exc)}") from None
    finally:
        source.dispose()
    staging, stg_counts = _read_staging(target_url, md, user_id)
    counts = tuple(RelatedCount(t, n or 0, stg_counts.get(t)) for t, n in prod_counts.items())
    columns = tuple(md.tables["users"].columns.keys())
    return DemoComparison(
        user_id, redact_url(source_url), redact_url(target_url), columns, production, staging, counts
    )


def _read_staging(target_url: str, md: sa.MetaData, user_id: int) -> tuple[Row | None, dict[str, int | None]]:
    parsed = parse_url(target_url)
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or ":memory:").exists():
        return None, {}  # no staging file yet: do not create one by looking
    target = create_engine(target_url, read_only=True)
    try:
        with connect(target) as conn:
            inspector = sa.inspect(conn)
            present = set(inspector.get_table_names()) & set(md.tables)
            if "users" not in present:
                return None, {}
            columns = {c["name"] for c in inspector.get_columns("users")}
            return _user_row(conn, md, user_id, columns), _related_counts(conn, md, user_id, present)
    except sa.exc.SQLAlchemyError as exc:
        raise DatabaseError(f"cannot read {redact_url(target.url)}: {describe_db_error(exc)}") from None
    finally:
        target.dispose()


def _user_row(conn: Connection, md: sa.MetaData, user_id: int, columns: set[str] | None) -> Row | None:
    users = md.tables["users"]
    selected = [c for c in users.columns if columns is None or c.name in columns]
    row = conn.execute(sa.select(*selected).where(users.c.id == user_id)).mappings().first()
    return dict(row) if row is not None else None


def _related_counts(
    conn: Connection, md: sa.MetaData, user_id: int, present: set[str]
) -> dict[str, int | None]:
    t = md.tables
    orders_of = sa.select(t["orders"].c.id).where(t["orders"].c.user_id == user_id)
    filters: dict[str, Callable[[], Any]] = {
        "addresses": lambda: t["addresses"].c.user_id == user_id,
        "orders": lambda: t["orders"].c.user_id == user_id,
        "order_items": lambda: t["order_items"].c.order_id.in_(orders_of),
        "payments": lambda: t["payments"].c.order_id.in_(orders_of),
        "user_feature_flags": lambda: t["user_feature_flags"].c.user_id == user_id,
        "support_tickets": lambda: t["support_tickets"].c.user_id == user_id,
        "audit_log": lambda: t["audit_log"].c.actor_id == user_id,
    }
    counts: dict[str, int | None] = {}
    for name, where in filters.items():
        needed = {name, "orders"} if name in ("order_items", "payments") else {name}
        if needed <= present:
            counts[name] = int(
                conn.execute(sa.select(sa.func.count()).select_from(t[name]).where(where())).scalar_one()
            )
        else:
            counts[name] = None
    return counts
