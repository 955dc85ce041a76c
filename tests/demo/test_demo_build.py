"""The demo database on SQLite, Postgres and MariaDB: counts, referential integrity, determinism, guarantees."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from faker import Faker

from repro.demo import MIN_USERS, build_demo_database, demo_metadata, generate_demo_rows
from repro.errors import UsageError

TABLES = [
    "organizations",
    "users",
    "addresses",
    "products",
    "orders",
    "order_items",
    "payments",
    "feature_flags",
    "user_feature_flags",
    "support_tickets",
    "audit_log",
]
MD = demo_metadata()
T = MD.tables


def dump(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every demo table, read through the demo metadata (so JSON, UUID, Decimal are typed)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return {
                name: [tuple(r) for r in conn.execute(sa.select(t).order_by(*t.primary_key.columns))]
                for name, t in T.items()
            }
    finally:
        engine.dispose()


def scalar(conn: sa.Connection, query: Any) -> Any:
    return conn.execute(query).scalar()


def orphan_count(conn: sa.Connection, child: sa.Column[Any], parent: sa.Column[Any]) -> int:
    referenced = parent.table.alias("referenced").c[parent.name]  # an alias: self-references too
    exists = sa.select(referenced).where(referenced == child).exists()
    query = sa.select(sa.func.count()).select_from(child.table).where(child.is_not(None), ~exists)
    return int(scalar(conn, query))


def check_integrity(conn: sa.Connection) -> None:
    edges = [(fk.parent, fk.column) for t in T.values() for fk in t.foreign_keys]
    assert len(edges) == 15
    edges.append((T["audit_log"].c.actor_id, T["users"].c.id))  # the virtual foreign key
    for child, parent in edges:
        assert orphan_count(conn, child, parent) == 0, f"{child} has values missing from {parent}"


def check_guarantees(conn: sa.Connection, users: int) -> None:
    """docs/demo-schema.md, "Data shapes the generator guarantees", one query per promise."""
    u, o, a = T["users"], T["orders"], T["addresses"]
    count = sa.func.count()
    user1 = conn.execute(sa.select(u).where(u.c.id == 1)).mappings().one()
    assert user1["role"] == "admin" and user1["organization_id"] == 1
    assert scalar(conn, sa.select(T["organizations"].c.owner_id).where(T["organizations"].c.id == 1)) == 1
    orgs = T["organizations"]
    bad_owners = (
        sa.select(count)
        .select_from(orgs.outerjoin(u, u.c.id == orgs.c.owner_id))
        .where(
            sa.or_(orgs.c.owner_id.is_(None), u.c.organization_id.is_(None), u.c.organization_id != orgs.c.id)
        )
    )
    assert scalar(conn, bad_owners) == 0
    admins = scalar(conn, sa.select(count).where(u.c.role == "admin"))
    assert scalar(conn, sa.select(count).where(u.c.role.not_in(["admin", "customer"]))) == 0
    assert 0.07 <= admins / users <= 0.13
    referred = scalar(conn, sa.select(count).where(u.c.referred_by_id.is_not(None)))
    assert 0.25 <= referred / users <= 0.36
    assert scalar(conn, sa.select(count).where(u.c.referred_by_id >= u.c.id)) == 0  # always an earlier user

    seven = conn.execute(sa.select(u).where(u.c.id == 7)).mappings().one()
    assert seven["role"] == "customer"
    assert seven["referred_by_id"] is not None and seven["organization_id"] is not None
    assert scalar(conn, sa.select(count).where(u.c.referred_by_id == 7)) >= 1
    orders = conn.execute(sa.select(o.c.id).where(o.c.user_id == 7)).scalars().all()
    assert len(orders) >= 3
    for order_id in orders:
        assert scalar(conn, sa.select(count).where(T["order_items"].c.order_id == order_id)) >= 1
        assert scalar(conn, sa.select(count).where(T["payments"].c.order_id == order_id)) >= 1
    gifts = sa.select(count).select_from(o.join(a, a.c.id == o.c.shipping_address_id))
    assert scalar(conn, gifts.where(o.c.user_id == 7, a.c.user_id != 7)) >= 1
    assert scalar(conn, sa.select(count).where(T["user_feature_flags"].c.user_id == 7)) >= 1
    st = T["support_tickets"]
    assigned = sa.select(count).select_from(st.join(u, u.c.id == st.c.assignee_id))
    assert scalar(conn, assigned.where(st.c.user_id == 7, u.c.role == "admin")) >= 1
    log = T["audit_log"]
    payloads = conn.execute(sa.select(log.c.payload).where(log.c.actor_id == 7)).scalars().all()
    assert payloads and all(isinstance(p, dict) and p["email"] == seven["email"] for p in payloads)

    for column in (u.c.phone, u.c.birth_date, u.c.organization_id):
        assert scalar(conn, sa.select(count).where(column.is_(None))) >= 1, column
    assert scalar(conn, sa.select(count).where(o.c.shipping_address_id.is_(None))) >= 1


@pytest.mark.parametrize("users", [MIN_USERS, 60])
def test_build_on_each_database(dialect: str, new_database: Any, users: int) -> None:
    url = new_database(dialect, "demo")
    result = build_demo_database(url, seed=42, users=users)
    data = dump(url)
    assert list(result.counts) == TABLES
    assert result.counts == {name: len(rows) for name, rows in data.items()}
    assert all(result.counts.values()) and result.counts["users"] == users
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            check_integrity(conn)
            check_guarantees(conn, users)
            payload = scalar(conn, sa.select(T["audit_log"].c.payload).where(T["audit_log"].c.actor_id == 7))
            assert isinstance(payload, dict)  # JSON comes back as JSON, also from MariaDB's LONGTEXT
        # the same seed gives the same rows on every database
        if dialect != "sqlite":
            reference = new_database("sqlite", "ref")
            build_demo_database(reference, seed=42, users=users)
            assert data == dump(reference)
        # explicit ids must not leave sequences / counters behind: the next insert gets the next id
        with engine.begin() as conn:
            conn.execute(T["feature_flags"].insert().values(key="late_flag", description="added later"))
            assert (
                scalar(
                    conn, sa.select(T["feature_flags"].c.id).where(T["feature_flags"].c.key == "late_flag")
                )
                == 9
            )
    finally:
        engine.dispose()


def test_refuses_non_empty_database_and_force_rebuilds(dialect: str, new_database: Any) -> None:
    url = new_database(dialect, "demo")
    build_demo_database(url, seed=1, users=MIN_USERS)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE keep_me (id INTEGER PRIMARY KEY)"))
        conn.execute(sa.text("INSERT INTO keep_me (id) VALUES (1)"))
    shown = sa.make_url(url).render_as_string(hide_password=True)
    with pytest.raises(UsageError) as caught:
        build_demo_database(url, seed=2, users=25)
    assert (
        str(caught.value)
        == f"{shown} is not empty (12 tables); pass --force to drop and recreate the demo tables"
    )
    result = build_demo_database(url, seed=2, users=25, force=True)
    assert result.counts["users"] == 25
    try:
        with engine.connect() as conn:
            assert scalar(conn, sa.select(sa.func.count()).select_from(T["users"])) == 25
            assert scalar(conn, sa.text("SELECT count(*) FROM keep_me")) == 1  # other tables are left alone
            check_integrity(conn)
    finally:
        engine.dispose()


def test_same_seed_same_rows_other_seed_other_rows(new_database: Any) -> None:
    first, second, other = (new_database("sqlite", n) for n in ("a", "b", "c"))
    build_demo_database(first, seed=42)
    random.seed(1234)  # global generators must not influence the build
    Faker.seed(1234)
    build_demo_database(second, seed=42)
    build_demo_database(other, seed=43)
    rows = dump(first)
    assert rows == dump(second)
    assert sum(len(v) for v in rows.values()) > 3000
    other_rows = dump(other)
    assert other_rows["users"] != rows["users"] and other_rows["orders"] != rows["orders"]


def test_default_size_keeps_the_guarantees(new_database: Any) -> None:
    url = new_database("sqlite", "big")
    result = build_demo_database(url)
    assert result.counts["users"] == 200 and result.counts["organizations"] >= 10
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            check_guarantees(conn, 200)
    finally:
        engine.dispose()


def test_generated_rows_fit_the_columns() -> None:
    rows = generate_demo_rows(seed=5, users=50)
    for name, table in T.items():
        for row in rows[name]:
            assert set(row) == set(table.columns.keys()), name
            for column in table.columns:
                value = row[column.name]
                if value is None:
                    assert column.nullable, f"{name}.{column.name} is NULL"
                elif isinstance(column.type, sa.String) and column.type.length:
                    assert len(value) <= column.type.length, f"{name}.{column.name}: {value!r}"
                elif isinstance(column.type, sa.Numeric):
                    assert value == round(value, 2) and isinstance(value, Decimal)
    emails = [r["email"] for r in rows["users"]]
    assert len(set(emails)) == len(emails)
    for order in rows["orders"]:
        items = [i for i in rows["order_items"] if i["order_id"] == order["id"]]
        assert order["total"] == sum(i["unit_price"] * i["quantity"] for i in items)


@pytest.mark.parametrize("seed", [0, 7, 2024])
def test_guarantees_hold_for_other_seeds_at_the_minimum_size(new_database: Any, seed: int) -> None:
    url = new_database("sqlite", f"seed{seed}")
    build_demo_database(url, seed=seed, users=MIN_USERS)
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            check_integrity(conn)
            check_guarantees(conn, MIN_USERS)
    finally:
        engine.dispose()


def test_too_few_users_is_refused(new_database: Any) -> None:
    with pytest.raises(UsageError, match=r"^--users must be at least 20 \(got 19\)"):
        build_demo_database(new_database("sqlite"), users=19)
