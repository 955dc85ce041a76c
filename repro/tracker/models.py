"""Tracker records (SQLAlchemy ORM) and the engine/session that creates the schema on first use."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

from repro.db import create_engine, describe_db_error, parse_url, redact_url
from repro.errors import DatabaseError

INCIDENT_COUNTER = "incident"
# Databases whose schema this process has already checked (a SQLite file is checked again if it vanished).
_schema_ready: set[str] = set()


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Stored as naive UTC (every backend agrees on that), always handed back timezone-aware."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    pass


class Counter(Base):
    """Named sequences; incrementing a row under its lock gives concurrent reporters distinct numbers."""

    __tablename__ = "tracker_counters"
    name: Mapped[str] = mapped_column(sa.String(50), primary_key=True)
    value: Mapped[int] = mapped_column(sa.Integer, nullable=False)


class Incident(Base):
    __tablename__ = "tracker_incidents"

    number: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    title: Mapped[str] = mapped_column(sa.String(500))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    reporter: Mapped[str] = mapped_column(sa.String(200))
    affected_user_ids: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    affected_kind: Mapped[str | None] = mapped_column(sa.String(20))
    scope: Mapped[str] = mapped_column(sa.String(20))
    criticality: Mapped[str] = mapped_column(sa.String(20))
    team: Mapped[str | None] = mapped_column(sa.String(20))
    urgency: Mapped[str] = mapped_column(sa.String(4))
    status: Mapped[str] = mapped_column(sa.String(20), index=True)
    resolution_kind: Mapped[str | None] = mapped_column(sa.String(20))
    resolution_ref: Mapped[str | None] = mapped_column(sa.String(300))
    duplicate_of: Mapped[int | None] = mapped_column(sa.Integer)
    reproduce_seconds: Mapped[float | None] = mapped_column(sa.Float)
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    triaged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reproducing_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reproduced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fixing_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    postmortem_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    declined_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duplicate_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Post-mortem notes, kept so that the document can be regenerated and completed over time.
    pm_summary: Mapped[str | None] = mapped_column(sa.Text)
    pm_impact: Mapped[str | None] = mapped_column(sa.Text)
    pm_root_cause: Mapped[str | None] = mapped_column(sa.Text)
    pm_trigger: Mapped[str | None] = mapped_column(sa.Text)
    pm_detection: Mapped[str | None] = mapped_column(sa.Text)
    pm_lessons: Mapped[str | None] = mapped_column(sa.Text)

    events: Mapped[list[Event]] = relationship(order_by="Event.id", cascade="all, delete-orphan")
    attachments: Mapped[list[Attachment]] = relationship(
        order_by="Attachment.id", cascade="all, delete-orphan"
    )
    snapshots: Mapped[list[SnapshotLink]] = relationship(
        order_by="SnapshotLink.linked_at", cascade="all, delete-orphan"
    )
    actions: Mapped[list[ActionItem]] = relationship(order_by="ActionItem.seq", cascade="all, delete-orphan")

    @property
    def id(self) -> str:
        return f"INC-{self.number}"


class Event(Base):
    """One line of the timeline: who did what, when, and which fields changed (old -> new)."""

    __tablename__ = "tracker_events"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    incident_number: Mapped[int] = mapped_column(sa.ForeignKey("tracker_incidents.number"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    by: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(30))
    message: Mapped[str] = mapped_column(sa.Text)
    from_status: Mapped[str | None] = mapped_column(sa.String(20))
    to_status: Mapped[str | None] = mapped_column(sa.String(20))
    changes: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)


class Attachment(Base):
    __tablename__ = "tracker_attachments"
    __table_args__ = (sa.UniqueConstraint("incident_number", "key"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    incident_number: Mapped[int] = mapped_column(sa.ForeignKey("tracker_incidents.number"), index=True)
    key: Mapped[str] = mapped_column(sa.String(500))
    sha256: Mapped[str] = mapped_column(sa.String(64))
    size: Mapped[int] = mapped_column(sa.BigInteger)
    kind: Mapped[str] = mapped_column(sa.String(10))
    filename: Mapped[str] = mapped_column(sa.String(300))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)
    added_by: Mapped[str] = mapped_column(sa.String(200))


class SnapshotLink(Base):
    __tablename__ = "tracker_snapshot_links"

    incident_number: Mapped[int] = mapped_column(sa.ForeignKey("tracker_incidents.number"), primary_key=True)
    snapshot_id: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ActionItem(Base):
    """A post-mortem measure: prevent, reduce or contain the error next time."""

    __tablename__ = "tracker_actions"
    __table_args__ = (sa.UniqueConstraint("incident_number", "seq"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    incident_number: Mapped[int] = mapped_column(sa.ForeignKey("tracker_incidents.number"), index=True)
    seq: Mapped[int] = mapped_column(sa.Integer)
    kind: Mapped[str] = mapped_column(sa.String(10))
    text: Mapped[str] = mapped_column(sa.Text)
    owner: Mapped[str | None] = mapped_column(sa.String(200))
    due: Mapped[date | None] = mapped_column(sa.Date)
    done: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


def open_engine(url: str) -> Engine:
    """An engine on the tracker database, with the schema created if missing (and a SQLite file's folder)."""
    parsed = parse_url(url)
    sqlite_file: Path | None = None
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            sqlite_file = Path(database).expanduser()
            sqlite_file.parent.mkdir(parents=True, exist_ok=True)
        # Concurrent writers wait for the file lock instead of failing at once.
        engine = sa.create_engine(parsed, connect_args={"timeout": 30})
    else:
        engine = create_engine(url)
    key = parsed.render_as_string(hide_password=False)
    if key in _schema_ready and (sqlite_file is None or sqlite_file.exists()):
        return engine
    try:
        _ensure_schema(engine)
    except BaseException:
        engine.dispose()
        raise
    _schema_ready.add(key)
    return engine


def _ensure_schema(engine: Engine, attempts: int = 5) -> None:
    """create_all plus the counter row; two processes doing this at once on a fresh database both succeed."""
    for attempt in range(attempts):
        try:
            Base.metadata.create_all(engine)
            with engine.begin() as conn:
                exists = conn.execute(
                    sa.select(Counter.value).where(Counter.name == INCIDENT_COUNTER)
                ).scalar_one_or_none()
                if exists is None:
                    conn.execute(sa.insert(Counter).values(name=INCIDENT_COUNTER, value=0))
            return
        except sa.exc.DBAPIError as exc:
            # Another process created the same table or row a moment earlier: look again.
            if exc.connection_invalidated or attempt == attempts - 1:
                raise DatabaseError(
                    f"cannot prepare the tracker database {redact_url(engine.url)}: {describe_db_error(exc)}"
                ) from None
            time.sleep(0.1 * (attempt + 1))


@contextmanager
def tracker_session(url: str) -> Iterator[Session]:
    """A session on the tracker database; database failures become one-line DatabaseErrors."""
    engine = open_engine(url)
    try:
        with Session(engine, expire_on_commit=False) as session:
            try:
                yield session
            except sa.exc.DBAPIError as exc:
                session.rollback()
                raise DatabaseError(
                    f"tracker database {redact_url(engine.url)}: {describe_db_error(exc)}"
                ) from None
    finally:
        engine.dispose()


def next_incident_number(session: Session) -> int:
    """Increment the counter under its row lock (Postgres/MySQL) or the file's write lock (SQLite)."""
    session.execute(
        sa.update(Counter).where(Counter.name == INCIDENT_COUNTER).values(value=Counter.value + 1)
    )
    return int(session.execute(sa.select(Counter.value).where(Counter.name == INCIDENT_COUNTER)).scalar_one())
