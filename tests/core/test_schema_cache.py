"""The reflection cache: reused while the catalog is unchanged, read afresh after any schema change."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from repro import schema_cache
from repro.schema import reflect


def _make(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE owners (id INTEGER PRIMARY KEY, name VARCHAR(20))")
        conn.exec_driver_sql(
            "CREATE TABLE pets (id INTEGER PRIMARY KEY, owner_id INTEGER REFERENCES owners (id))"
        )
    engine.dispose()


def _alter(url: str, sql: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(sql)
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def cached_db(request: pytest.FixtureRequest, new_database: Any) -> str:
    url: str = new_database(request.param, "cache")
    _make(url)
    return url


def _files(isolated_env: Path) -> list[Path]:
    return sorted(schema_cache.cache_dir().glob("*.pickle"))


def test_unchanged_schema_is_read_from_the_cache(
    cached_db: str, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = reflect(sa.create_engine(cached_db))
    assert len(_files(isolated_env)) == 1

    def no_reflection(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("reflected again")

    monkeypatch.setattr(sa.MetaData, "reflect", no_reflection)
    again = reflect(sa.create_engine(cached_db))
    assert again.tables.keys() == first.tables.keys()
    assert again.tables["pets"].columns == first.tables["pets"].columns
    assert [fk.label for fk in again.foreign_keys] == [fk.label for fk in first.foreign_keys]


@pytest.mark.parametrize(
    "change",
    [
        "ALTER TABLE pets ADD COLUMN nickname VARCHAR(30)",
        "CREATE TABLE toys (id INTEGER PRIMARY KEY)",
        "CREATE UNIQUE INDEX owners_name ON owners (name)",
    ],
)
def test_a_schema_change_is_seen(change: str, cached_db: str, isolated_env: Path) -> None:
    reflect(sa.create_engine(cached_db))
    _alter(cached_db, change)
    after = reflect(sa.create_engine(cached_db))
    if "nickname" in change:
        assert "nickname" in after.tables["pets"].columns
    if "toys" in change:
        assert "toys" in after.tables
    if "owners_name" in change:
        assert ("name",) in after.tables["owners"].unique
    assert len(_files(isolated_env)) == 2


def test_a_damaged_cache_file_is_replaced(cached_db: str, isolated_env: Path) -> None:
    reflect(sa.create_engine(cached_db))
    (path,) = _files(isolated_env)
    path.write_bytes(b"not a pickle")
    graph = reflect(sa.create_engine(cached_db))
    assert set(graph.tables) == {"owners", "pets"}
    assert path.read_bytes() != b"not a pickle"


def test_the_cache_can_be_turned_off(
    cached_db: str, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPRO_SCHEMA_CACHE", "0")
    reflect(sa.create_engine(cached_db))
    assert _files(isolated_env) == []


def test_files_are_private(cached_db: str, isolated_env: Path) -> None:
    reflect(sa.create_engine(cached_db))
    (path,) = _files(isolated_env)
    assert path.stat().st_mode & 0o077 == 0
    assert path.parent.stat().st_mode & 0o077 == 0
