"""copy-user on the demo schema, on SQLite, Postgres and MariaDB: exact closure, idempotence, atomicity, leaks."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import PROJECT_ROOT, dump_database, expected_closure, table_keys

from repro.config import Settings, SnapshotSettings, SubsetSettings, TrackerSettings, VirtualForeignKey
from repro.copy import copy_user
from repro.demo import build_demo_database
from repro.errors import DatabaseError
from repro.load import Loader
from repro.masking.rules import load_rules

VIRTUAL = [("audit_log", ("actor_id",), "users", ("id",))]
SKIP = {("audit_log", ("reviewer_id",))}


def demo_settings(source: str, target: str, tmp_path: Path) -> Settings:
    return Settings(
        source_url=source,
        target_url=target,
        rules_dir=PROJECT_ROOT / "masking_rules",
        subset=SubsetSettings(
            virtual_foreign_keys=(VirtualForeignKey("audit_log", ("actor_id",), "users", ("id",)),),
            skip=("audit_log.reviewer_id",),
        ),
        snapshots=SnapshotSettings(store=str(tmp_path / "snapshots")),
        tracker=TrackerSettings(url=f"sqlite:///{tmp_path / 'tracker.db'}"),
    )


@pytest.fixture
def demo_source(dialect: str, new_database: Any) -> str:
    url = new_database(dialect, "prod")
    build_demo_database(url, seed=42, users=60)
    return url


def _scalar(url: str, sql: str) -> Any:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        value = conn.exec_driver_sql(sql).scalar()
    engine.dispose()
    return value


def _pick_user(url: str, kind: str) -> int:
    queries = {
        "customer": "SELECT 7",
        "org-owner": "SELECT min(owner_id) FROM organizations",  # in the mutual cycle
        "admin": "SELECT min(id) FROM users WHERE role = 'admin' AND id NOT IN "
        "(SELECT owner_id FROM organizations WHERE owner_id IS NOT NULL)",
        "referrer": "SELECT min(referred_by_id) FROM users WHERE referred_by_id IS NOT NULL AND referred_by_id <> 7",
    }
    value = _scalar(url, queries[kind])
    assert value is not None, f"the demo data has no {kind}"
    return int(value)


@pytest.mark.parametrize("kind", ["customer", "org-owner", "admin", "referrer"])
def test_copy_takes_exactly_the_expected_rows(
    kind: str, dialect: str, demo_source: str, new_database: Any, tmp_path: Path, mask_salt: str
) -> None:
    target = new_database(dialect, "stg")
    user = _pick_user(demo_source, kind)
    result = copy_user(demo_settings(demo_source, target, tmp_path), user, create_schema=True)
    expected = expected_closure(demo_source, "users", "id", user, VIRTUAL, SKIP)
    got = table_keys(target)
    assert got == expected
    assert result.rows == {t: len(keys) for t, keys in expected.items()} | {
        t: 0 for t in result.rows if t not in expected
    }
    assert "products" in got and len(got["products"]) < _scalar(demo_source, "SELECT count(*) FROM products")
    assert result.snapshot_id is not None


def test_copy_twice_leaves_staging_identical(
    dialect: str, demo_source: str, new_database: Any, tmp_path: Path, mask_salt: str
) -> None:
    target = new_database(dialect, "stg")
    settings = demo_settings(demo_source, target, tmp_path)
    copy_user(settings, 7, create_schema=True)
    first = dump_database(target)
    copy_user(settings, 7)
    assert dump_database(target) == first


def test_failure_half_way_leaves_staging_unchanged(
    dialect: str, demo_source: str, new_database: Any, tmp_path: Path, mask_salt: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    target = new_database(dialect, "stg")
    settings = demo_settings(demo_source, target, tmp_path)
    copy_user(settings, 1, create_schema=True)
    before = dump_database(target)
    snapshots_before = sorted(p.name for p in (tmp_path / "snapshots").rglob("manifest.json"))
    calls = {"n": 0}
    original = Loader.write

    def failing_write(self: Loader, batch: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 4:
            raise DatabaseError("injected failure")
        original(self, batch)

    monkeypatch.setattr(Loader, "write", failing_write)
    with pytest.raises(DatabaseError, match="injected failure"):
        copy_user(settings, 7)
    assert calls["n"] == 4
    assert dump_database(target) == before
    assert sorted(p.name for p in (tmp_path / "snapshots").rglob("manifest.json")) == snapshots_before


def _masked_columns() -> dict[str, dict[str, str]]:
    rules = load_rules(PROJECT_ROOT / "masking_rules")
    result: dict[str, dict[str, str]] = {}
    for table, trules in rules.tables.items():
        for column, rule in trules.columns.items():
            if rule.strategy != "keep":
                result.setdefault(table, {})[column] = rule.strategy
    return result


def _strings(value: Any) -> list[str]:
    """Original values worth searching for: distinctive strings (JSON leaves included)."""
    if value is None:
        return []
    if isinstance(value, dict | list):
        out: list[str] = []
        for v in value.values() if isinstance(value, dict) else value:
            out += _strings(v)
        return out
    if isinstance(value, str) and value.startswith(("{", "[")):
        try:
            return _strings(json.loads(value))
        except ValueError:
            pass
    text = str(value)
    distinctive = any(c.isdigit() for c in text) or "@" in text or len(text) >= 12
    if isinstance(value, dt.date | int | float) or not distinctive or len(text) < 6:
        return []
    return [text]


def test_no_original_value_of_a_masked_column_reaches_staging(
    dialect: str, demo_source: str, new_database: Any, tmp_path: Path, mask_salt: str
) -> None:
    target = new_database(dialect, "stg")
    copy_user(demo_settings(demo_source, target, tmp_path), 7, create_schema=True)
    copied = table_keys(target)
    masked = _masked_columns()
    staging_text = json.dumps(dump_database(target), default=str)
    engine = sa.create_engine(demo_source)
    leaks = []
    with engine.connect() as conn:
        for table, columns in masked.items():
            if table not in copied:
                continue
            pk = sa.inspect(engine).get_pk_constraint(table)["constrained_columns"]
            for row in conn.execute(sa.text(f"SELECT * FROM {table}")).mappings():
                if tuple(row[c] for c in pk) not in copied[table]:
                    continue
                for column in columns:
                    leaks += [f"{table}.{column}: {s}" for s in _strings(row[column]) if s in staging_text]
    engine.dispose()
    assert leaks == []
