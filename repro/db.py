"""Engines and dialect helpers: read-only source transactions, target transactions, URL redaction."""

from __future__ import annotations

import re
import uuid
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, make_url

from repro.errors import ConfigError, DatabaseError, ReadOnlyViolation

_PASSWORD_IN_TEXT = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.\-]*://[^:/@\s]*):(?P<pw>[^@\s]*)@")

# Statements a read-only source connection may run: everything else is refused before it reaches the server.
_READ_ONLY_PREFIXES = (
    "select",
    "with",
    "show",
    "pragma",
    "set transaction",
    "set session",
    "explain",
    "start transaction",
    "begin",
    "commit",
    "rollback",
    "describe",
    "set ",
)
_WRITE_WORDS = re.compile(
    r"^\s*(insert|update|delete|merge|create|alter|drop|truncate|grant|revoke|copy\s+\w+\s+from"
    r"|replace|lock|call|do|vacuum|reindex|attach|detach)\b",
    re.IGNORECASE,
)


_DISPLAY_URLS: weakref.WeakKeyDictionary[Engine, str] = weakref.WeakKeyDictionary()


def display_url(engine: Engine) -> str:
    """The engine's URL as the user wrote it, password redacted."""
    return _DISPLAY_URLS.get(engine) or redact_url(engine.url)


def redact_url(url: str | URL | None) -> str:
    """The URL with its password replaced by ***, safe to print or log."""
    if url is None:
        return "<none>"
    if isinstance(url, URL):
        return url.render_as_string(hide_password=True)
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return redact_text(str(url))


def redact_text(text: str) -> str:
    """Replace any `scheme://user:password@` inside free text (driver error messages) by `user:***@`."""
    return _PASSWORD_IN_TEXT.sub(lambda m: f"{m.group('scheme')}:***@", text)


def parse_url(url: str) -> URL:
    try:
        return make_url(url)
    except Exception:
        raise ConfigError(f"invalid database URL: {redact_text(url)}") from None


def dialect_name(engine_or_conn: Engine | Connection) -> str:
    """'postgresql', 'mysql' (MariaDB too) or 'sqlite'."""
    return engine_or_conn.dialect.name if engine_or_conn.dialect.name != "mariadb" else "mysql"


def create_engine(url: str, *, read_only: bool = False) -> Engine:
    """An engine for a URL; `read_only` engines refuse every write at three levels (guard, session, server)."""
    parsed = parse_url(url)
    kwargs: dict[str, Any] = {"future": True}
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = parsed.database or ""
        if read_only and database and database != ":memory:":
            # A read-only open of the file itself: SQLite refuses writes, whatever SQL is sent.
            kwargs["creator"] = _sqlite_read_only_creator(database)
    elif backend == "postgresql" and "+" not in parsed.drivername:
        parsed = parsed.set(drivername="postgresql+psycopg2")  # the driver repro installs
    elif backend in ("mysql", "mariadb"):
        if parsed.get_driver_name() in ("", "mysqldb") and backend == "mysql":
            parsed = parsed.set(drivername=f"{backend}+pymysql")
        kwargs["pool_pre_ping"] = False
    try:
        engine = sa.create_engine(parsed, **kwargs)
    except ImportError as exc:
        raise ConfigError(f"no driver for {redact_url(parsed)}: {exc}") from None
    except sa.exc.ArgumentError as exc:
        raise ConfigError(f"invalid database URL {redact_url(parsed)}: {exc}") from None
    _DISPLAY_URLS[engine] = redact_url(url)
    if read_only:
        _install_write_guard(engine)
    elif backend == "sqlite":
        _enforce_sqlite_foreign_keys(engine)
    return engine


def _enforce_sqlite_foreign_keys(engine: Engine) -> None:
    """SQLite checks foreign keys only when asked, per connection: a target must keep referential integrity."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()


def _sqlite_read_only_creator(path: str) -> Any:
    import sqlite3
    from pathlib import Path
    from urllib.parse import quote

    def connect() -> sqlite3.Connection:
        if not Path(path).exists():
            raise sqlite3.OperationalError(f"unable to open database file {path}")
        conn = sqlite3.connect(
            f"file:{quote(str(Path(path).resolve()))}?mode=ro", uri=True, check_same_thread=False
        )
        conn.execute("PRAGMA query_only = ON")
        conn.isolation_level = None  # transactions are opened explicitly by read_only_snapshot
        return conn

    return connect


def _install_write_guard(engine: Engine) -> None:
    @event.listens_for(engine, "before_cursor_execute", retval=True)
    def _refuse_writes(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
    ) -> tuple[str, Any]:
        if (
            executemany
            or _WRITE_WORDS.match(statement)
            or not statement.lstrip().lower().startswith(_READ_ONLY_PREFIXES)
        ):
            raise ReadOnlyViolation(
                f"refused to run a non-read statement on the source database: {statement.split()[0]!r}"
            )
        return statement, parameters


@contextmanager
def read_only_snapshot(engine: Engine) -> Iterator[Connection]:
    """One read-only transaction with a consistent view of the whole source database."""
    name = dialect_name(engine)
    with connect(engine) as conn:
        if name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            conn.begin()
            # Lookups read through cursors (repro.subset.fetch) are always read whole: plan them so.
            conn.exec_driver_sql("SET LOCAL cursor_tuple_fraction = 1")
        elif name == "mysql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            conn.exec_driver_sql("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
        else:
            conn.exec_driver_sql("PRAGMA query_only = ON")
            if (
                conn.connection.dbapi_connection is not None
                and getattr(conn.connection.dbapi_connection, "isolation_level", "") is None
            ):
                conn.exec_driver_sql("BEGIN")  # the driver does not manage transactions: open one explicitly
            # A read on sqlite_master takes the shared lock: the view is fixed from here on.
            conn.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar()
        try:
            yield conn
        finally:
            if name == "mysql":
                conn.exec_driver_sql("ROLLBACK")
            elif conn.in_transaction():
                conn.rollback()


@contextmanager
def connect(engine: Engine) -> Iterator[Connection]:
    """A connection whose connection failures become a one-line DatabaseError with the URL redacted."""
    try:
        conn = engine.connect()
    except sa.exc.DBAPIError as exc:
        raise DatabaseError(f"cannot connect to {display_url(engine)}: {describe_db_error(exc)}") from None
    try:
        yield conn
    finally:
        conn.close()


def describe_db_error(exc: BaseException) -> str:
    """The driver's first meaningful line, without SQL, parameters or passwords."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip()
    if isinstance(orig, tuple | list):
        text = " ".join(str(p) for p in orig)
    args = getattr(orig, "args", None)
    if args and isinstance(args, tuple) and len(args) == 2 and isinstance(args[0], int):
        text = f"{args[1]} ({args[0]})"  # PyMySQL: (code, message)
    first = next((line for line in text.splitlines() if line.strip()), text)
    return redact_text(first.strip())


def quote_ident(conn: Connection | Engine, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)


def without_parameter_escapes(conn: Connection | Engine, text: str) -> str:
    """Text made with the dialect's quoting, as the server is to read it where the driver parses no parameters
    (COPY, a statement run without parameters) or as a parameter's value: for drivers whose parameters are
    marked with `%` (psycopg2, PyMySQL) the quoting doubled each `%` of a name."""
    return text.replace("%%", "%") if conn.dialect.paramstyle in ("format", "pyformat") else text


def pg_array_param(values: list[Any]) -> Any:
    """Values as psycopg2 sends them in an array parameter: integers as one array literal (no per-item
    adaptation), UUIDs as text, anything else as the list itself."""
    kinds = set(map(type, values))
    if kinds == {int}:
        return "{" + ",".join(map(str, values)) + "}"
    if uuid.UUID in kinds:
        return [str(v) if isinstance(v, uuid.UUID) else v for v in values]
    return values
