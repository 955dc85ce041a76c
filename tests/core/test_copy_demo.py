"""copy-user on the demo schema, on SQLite, Postgres and MariaDB: exact closure, idempotence, atomicity, leaks."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from dbtools import PROJECT_ROOT, demo_settings, dump_database, expected_closure, leaked_values, table_keys

from repro.copy import copy_user
from repro.demo import build_demo_database
from repro.errors import DatabaseError
from repro.load import Loader

VIRTUAL = [("audit_log", ("actor_id",), "users", ("id",))]
SKIP = {("audit_log", ("reviewer_id",))}


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
    if kind == "customer":  # the catalogue comes only as the parents of the customer's order items
        assert 0 < len(got["products"]) < _scalar(demo_source, "SELECT count(*) FROM products")
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
    dialect: str,
    demo_source: str,
    new_database: Any,
    tmp_path: Path,
    mask_salt: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    target = new_database(dialect, "stg")
    settings = demo_settings(demo_source, target, tmp_path)
    copy_user(settings, 1, create_schema=True)
    before = dump_database(target)
    snapshots_before = sorted(p.name for p in (tmp_path / "snapshots").rglob("manifest.json"))
    calls = {"n": 0}
    original = Loader.write

    def failing_write(self: Loader, batch: Any, data: bytes | None = None) -> None:
        calls["n"] += 1
        if calls["n"] == 4:
            raise DatabaseError("injected failure")
        original(self, batch, data)

    monkeypatch.setattr(Loader, "write", failing_write)
    with pytest.raises(DatabaseError, match="injected failure"):
        copy_user(settings, 7)
    assert calls["n"] == 4
    assert dump_database(target) == before
    assert sorted(p.name for p in (tmp_path / "snapshots").rglob("manifest.json")) == snapshots_before


def test_no_original_value_of_a_masked_column_reaches_staging(
    dialect: str, demo_source: str, new_database: Any, tmp_path: Path, mask_salt: str
) -> None:
    target = new_database(dialect, "stg")
    copy_user(demo_settings(demo_source, target, tmp_path), 7, create_schema=True)
    assert leaked_values(demo_source, target, PROJECT_ROOT / "masking_rules") == []


def test_source_is_only_read_with_a_select_only_role(
    new_database: Any, tmp_path: Path, mask_salt: str
) -> None:
    """Against a Postgres role that can only SELECT, the whole copy works: it never needs to write."""
    source = new_database("postgresql", "prod")
    build_demo_database(source, seed=42, users=40)
    role = "repro_ro_" + Path(tmp_path).name[-8:].lower().replace("-", "_")
    admin = sa.create_engine(source, isolation_level="AUTOCOMMIT")
    dbname = sa.make_url(source).database
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP ROLE IF EXISTS {role}")
        conn.exec_driver_sql(f"CREATE ROLE {role} LOGIN")
        conn.exec_driver_sql(f"GRANT CONNECT ON DATABASE {dbname} TO {role}")
        conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA public TO {role}")
        conn.exec_driver_sql(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")
    try:
        ro_url = sa.make_url(source).set(username=role).render_as_string(hide_password=False)
        before = dump_database(source)
        target = new_database("postgresql", "stg")
        result = copy_user(demo_settings(ro_url, target, tmp_path), 7, create_schema=True)
        assert result.rows["users"] >= 1
        assert dump_database(source) == before
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(
                f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}'"
            )
            conn.exec_driver_sql(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}")
            conn.exec_driver_sql(f"REVOKE ALL ON SCHEMA public FROM {role}")
            conn.exec_driver_sql(f"REVOKE ALL ON DATABASE {dbname} FROM {role}")
            conn.exec_driver_sql(f"DROP ROLE {role}")
        admin.dispose()


def test_masked_unique_value_taken_by_another_staging_row_is_resolved(
    dialect: str, demo_source: str, new_database: Any, tmp_path: Path, mask_salt: str
) -> None:
    """Another staging row (not part of the copy) already holds the fake email user 7 masks to: the copy picks
    the next deterministic alternative instead of failing half-way, the same one every time."""

    def squatted_staging(name: str) -> tuple[str, str]:
        target = new_database(dialect, name)
        copy_user(demo_settings(demo_source, target, tmp_path), 7, create_schema=True, snapshot=False)
        masked = _scalar(target, "SELECT email FROM users WHERE id = 7")
        engine = sa.create_engine(target)
        users = sa.Table("users", sa.MetaData(), autoload_with=engine)
        with engine.begin() as conn:
            squatter = dict(conn.execute(sa.select(users).where(users.c.id == 7)).mappings().one())
            conn.execute(sa.update(users).where(users.c.id == 7).values(email="someone-else@example.org"))
            squatter.update(id=900000, email=masked, referred_by_id=None, organization_id=None)
            old, new = squatter["public_id"], uuid.uuid4()
            squatter["public_id"] = (
                new if not isinstance(old, str) else new.hex if len(old) == 32 else str(new)
            )
            conn.execute(sa.insert(users), [squatter])
        engine.dispose()
        return target, masked

    second, masked_email = squatted_staging("stg2")
    copy_user(demo_settings(demo_source, second, tmp_path), 7, snapshot=False)
    resolved = _scalar(second, "SELECT email FROM users WHERE id = 7")
    assert resolved != masked_email and "@" in resolved
    assert (
        _scalar(second, "SELECT email FROM users WHERE id = 900000") == masked_email
    )  # the other row untouched
    third, _ = squatted_staging("stg3")
    copy_user(demo_settings(demo_source, third, tmp_path), 7, snapshot=False)
    assert _scalar(third, "SELECT email FROM users WHERE id = 7") == resolved


def test_failed_staging_commit_leaves_no_snapshot(
    demo_source: str,
    dialect: str,
    new_database: Any,
    tmp_path: Path,
    mask_salt: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The snapshot is complete before staging commits; if that commit fails, the snapshot is removed."""
    import repro.load

    target = new_database(dialect, "stg")
    settings = demo_settings(demo_source, target, tmp_path)
    copy_user(settings, 1, create_schema=True)
    before = dump_database(target)
    listed = sorted(p.parent.name for p in (tmp_path / "snapshots").rglob("manifest.json"))
    from contextlib import contextmanager

    real_transaction = repro.load.target_transaction

    @contextmanager
    def failing_commit(engine: Any) -> Any:
        with real_transaction(engine) as conn:
            yield conn
            raise DatabaseError("staging commit failed: injected")

    monkeypatch.setattr("repro.copy.target_transaction", failing_commit)
    with pytest.raises(DatabaseError, match="injected"):
        copy_user(settings, 7)
    assert dump_database(target) == before
    assert sorted(p.parent.name for p in (tmp_path / "snapshots").rglob("manifest.json")) == listed


@pytest.mark.parametrize("dialect", ["postgresql"])
def test_sequences_move_past_the_copied_ids(
    dialect: str, demo_source: str, new_database: Any, tmp_path: Path, mask_salt: str
) -> None:
    """Rows added on staging after a copy get new ids: every copied table's sequence is past its largest id."""
    from repro.demo import demo_metadata

    target = new_database(dialect, "stg")
    engine = sa.create_engine(target)
    demo_metadata().create_all(engine)  # serial ids, sequences at their start
    copy_user(demo_settings(demo_source, target, tmp_path), 7)
    with engine.connect() as conn:
        for table in ("users", "orders", "order_items", "addresses", "products"):
            largest = conn.exec_driver_sql(f"SELECT max(id) FROM {table}").scalar()
            assert largest is not None and largest > 1
            following = conn.exec_driver_sql(
                f"SELECT nextval(pg_get_serial_sequence('{table}', 'id'))"
            ).scalar()
            assert following == largest + 1, table
    engine.dispose()
