"""A tiny benchmark database on the real PostgreSQL service: build, cache marker, pipeline (no timing checked)."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from bench_build import build_info, ensure_database, pg_connect
from bench_data import Shape
from bench_pipeline import run_pipeline

from repro.demo import demo_metadata

NewDatabase = Callable[..., str]


def _name(url: str) -> str:
    return str(sa.make_url(url).database)


def _count(database: str, sql: str) -> int:
    conn = pg_connect(database)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            row = cur.fetchone()
            assert row is not None
            return int(row[0])
    finally:
        conn.close()


def test_build_is_cached_and_pipeline_moves_the_users_rows(new_database: NewDatabase) -> None:
    source = _name(new_database("postgresql", "benchsrc"))
    shape = Shape(source, 120, heavy_orders=100, heavy_tickets=3, heavy_audit=4)
    messages: list[str] = []
    assert ensure_database(shape, log=messages.append) is not None
    assert ensure_database(shape, log=messages.append) is None  # the marker says: same shape, finished
    assert messages[-1] == f"  {source}: cached (built earlier with the same shape)"
    info = build_info(source)
    assert info is not None and info["shape"] == shape.fingerprint()
    heavy, light = shape.heavy_user, shape.light_user
    assert _count(source, f"SELECT count(*) FROM orders WHERE user_id = {heavy}") == 100
    assert _count(source, f"SELECT count(*) FROM orders WHERE user_id = {light}") == 5
    assert _count(source, "SELECT count(*) FROM users") == 120
    assert _count(source, "SELECT count(DISTINCT email) FROM users") == 120
    # every foreign-key column is indexed, organizations.owner_id included
    assert (
        _count(source, "SELECT count(*) FROM pg_indexes WHERE indexname = 'ix_bench_organizations_owner_id'")
        == 1
    )

    target_url = new_database("postgresql", "benchstg")
    engine = sa.create_engine(target_url)
    demo_metadata().create_all(engine)
    engine.dispose()
    run = run_pipeline(pg_connect, source, _name(target_url), light)
    assert run.rows["orders"] == 5 and run.rows["order_items"] == 15
    assert run.rows["audit_log"] == shape.light_audit
    target = _name(target_url)
    assert _count(target, f"SELECT count(*) FROM orders WHERE user_id = {light}") == 5
    assert _count(target, "SELECT count(*) FROM users") == run.rows["users"]
    # every copied order's user and addresses came along (parents)
    assert (
        _count(
            target, "SELECT count(*) FROM orders o LEFT JOIN users u ON u.id = o.user_id WHERE u.id IS NULL"
        )
        == 0
    )
    assert (
        _count(
            target,
            "SELECT count(*) FROM orders o LEFT JOIN addresses a ON a.id = o.shipping_address_id "
            "WHERE o.shipping_address_id IS NOT NULL AND a.id IS NULL",
        )
        == 0
    )
