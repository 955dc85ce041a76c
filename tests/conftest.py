"""Shared fixtures: isolated environment, real databases per dialect, the shared Chinook dataset.

Databases are real services (PostgreSQL on 127.0.0.1:5432, MariaDB on 127.0.0.1:3306). Each test gets fresh
databases that are dropped afterwards. Where a service is unreachable the test skips, except with CI=true,
where it fails.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from dbtools import CHINOOK_DIR, load_chinook

PG_ADMIN_URL = os.environ.get("REPRO_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
MY_ADMIN_URL = os.environ.get("REPRO_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/")
DIALECTS = ["sqlite", "postgresql", "mysql"]
IN_CI = os.environ.get("CI", "").lower() == "true"


def unavailable(reason: str) -> None:
    """Skip locally, fail in CI: a service test that did not run must never look green there."""
    if IN_CI:
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test runs in its own working directory and home, with no REPRO_* variables from outside."""
    for key in list(os.environ):
        if key.startswith("REPRO_") and not key.startswith("REPRO_TEST_"):
            monkeypatch.delenv(key)
    home = tmp_path / "home"
    home.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    return work


def _server_reachable(url: str) -> str | None:
    engine = sa.create_engine(url)
    try:
        with engine.connect():
            return None
    except Exception as exc:
        return str(exc).splitlines()[0]
    finally:
        engine.dispose()


_reachability: dict[str, str | None] = {}


def _check(dialect: str) -> None:
    admin = PG_ADMIN_URL if dialect == "postgresql" else MY_ADMIN_URL
    if dialect not in _reachability:
        _reachability[dialect] = _server_reachable(admin)
    if _reachability[dialect] is not None:
        unavailable(f"{dialect} service unreachable: {_reachability[dialect]}")


NewDatabase = Callable[..., str]


@pytest.fixture
def new_database(tmp_path: Path) -> Iterator[NewDatabase]:
    """`new_database(dialect, name="src")` -> URL of a fresh, empty database, dropped after the test."""
    created: list[tuple[str, str]] = []

    def make(dialect: str, name: str = "db") -> str:
        if dialect == "sqlite":
            path = tmp_path / f"{name}-{uuid.uuid4().hex[:6]}.db"
            return f"sqlite:///{path}"
        _check(dialect)
        dbname = f"repro_t_{name}_{uuid.uuid4().hex[:10]}".lower()
        admin = PG_ADMIN_URL if dialect == "postgresql" else MY_ADMIN_URL
        engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {dbname}")
        engine.dispose()
        created.append((dialect, dbname))
        if dialect == "postgresql":
            return sa.make_url(admin).set(database=dbname).render_as_string(hide_password=False)
        return (
            sa.make_url(admin).set(database=dbname).render_as_string(hide_password=False) + "?charset=utf8mb4"
        )

    yield make
    for dialect, dbname in created:
        admin = PG_ADMIN_URL if dialect == "postgresql" else MY_ADMIN_URL
        engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            if dialect == "postgresql":
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)")
            else:
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {dbname}")
        engine.dispose()


@pytest.fixture(params=DIALECTS)
def dialect(request: pytest.FixtureRequest) -> str:
    """Runs a test once per database: sqlite, postgresql, mysql (MariaDB)."""
    return str(request.param)


@pytest.fixture
def chinook_dir() -> Path:
    if not CHINOOK_DIR.is_dir():
        unavailable(f"the shared Chinook dataset is absent ({CHINOOK_DIR})")
    return CHINOOK_DIR


@pytest.fixture
def isolated_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Real git with no user or system configuration and no GIT_* variables from outside."""
    for key in list(os.environ):
        if key.startswith("GIT_"):
            monkeypatch.delenv(key)
    empty = tmp_path / "empty-gitconfig"
    empty.write_text("", encoding="utf-8")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(empty))
    monkeypatch.setenv("GIT_EDITOR", "true")


@pytest.fixture
def mask_salt(monkeypatch: pytest.MonkeyPatch) -> str:
    salt = "test-salt-0123456789"
    monkeypatch.setenv("REPRO_MASK_SALT", salt)
    return salt


@pytest.fixture
def chinook_url(chinook_dir: Path, dialect: str, new_database: NewDatabase) -> str:
    """A fresh database of the current dialect holding the Chinook sample data."""
    url = new_database(dialect, "chinook")
    load_chinook(url, dialect)
    return url
