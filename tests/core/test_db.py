"""The source is only ever read: the guard, the read-only transaction and the server all refuse writes."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from repro.db import create_engine, read_only_snapshot
from repro.errors import DatabaseError, ReadOnlyViolation


def _make_table(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, v VARCHAR(10))")
        conn.exec_driver_sql("INSERT INTO t VALUES (1, 'a')")
    engine.dispose()


def _count(url: str) -> int:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        n = int(conn.exec_driver_sql("SELECT count(*) FROM t").scalar_one())
    engine.dispose()
    return n


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO t VALUES (2, 'b')",
        "  delete from t",
        "UPDATE t SET v='x'",
        "DROP TABLE t",
        "CREATE TABLE u (id int)",
    ],
)
def test_guard_refuses_writes(dialect: str, new_database, statement: str) -> None:  # type: ignore[no-untyped-def]
    url = new_database(dialect)
    _make_table(url)
    engine = create_engine(url, read_only=True)
    with read_only_snapshot(engine) as conn, pytest.raises(ReadOnlyViolation, match="refused to run"):
        conn.exec_driver_sql(statement)
    engine.dispose()
    assert _count(url) == 1


def test_server_refuses_writes_even_past_the_guard(dialect: str, new_database) -> None:  # type: ignore[no-untyped-def]
    """Below the guard, the transaction itself is read-only (and SQLite's file is opened read-only)."""
    url = new_database(dialect)
    _make_table(url)
    engine = create_engine(url, read_only=True)
    with read_only_snapshot(engine) as conn:
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        with pytest.raises(Exception, match=r"(?i)read.only|readonly|attempt to write"):
            cursor.execute("INSERT INTO t VALUES (3, 'c')")
    engine.dispose()
    assert _count(url) == 1


@pytest.mark.parametrize("dialect", ["postgresql", "mysql"])  # SQLite's shared lock blocks writers instead
def test_consistent_view(dialect: str, new_database) -> None:  # type: ignore[no-untyped-def]
    """Rows committed by others after the read transaction started are not seen by it."""
    url = new_database(dialect)
    _make_table(url)
    engine = create_engine(url, read_only=True)
    writer = sa.create_engine(url)
    with read_only_snapshot(engine) as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar_one() == 1
        with writer.begin() as w:
            w.exec_driver_sql("INSERT INTO t VALUES (5, 'e')")
        assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar_one() == 1
    writer.dispose()
    engine.dispose()


def test_unreachable_database_is_one_line() -> None:
    engine = create_engine("postgresql+psycopg2://postgres:pw@127.0.0.1:1/none", read_only=True)
    with pytest.raises(DatabaseError) as info, read_only_snapshot(engine):
        pass
    message = str(info.value)
    assert message.startswith("cannot connect to postgresql+psycopg2://postgres:***@127.0.0.1:1/none: ")
    assert "\n" not in message and "pw" not in message


def test_missing_sqlite_file_is_not_created(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = create_engine(f"sqlite:///{tmp_path / 'absent.db'}", read_only=True)
    with (
        pytest.raises(DatabaseError, match=r"cannot connect to sqlite:///.*absent\.db"),
        read_only_snapshot(engine),
    ):
        pass
    assert not (tmp_path / "absent.db").exists()
