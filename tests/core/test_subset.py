"""Traversal semantics on a small hand-made schema (SQLite): what "one user's data" means."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from repro.config import SubsetSettings, VirtualForeignKey
from repro.db import create_engine, read_only_snapshot
from repro.errors import ConfigError, NotFoundError, PlanError, RowLimitError
from repro.load_order import plan_load
from repro.schema import reflect
from repro.subset.extract import collect_subset
from repro.subset.plan import plan_subset

SCHEMA = """
CREATE TABLE orgs (id INTEGER PRIMARY KEY, name TEXT, owner_id INTEGER REFERENCES users(id));
CREATE TABLE users (id INTEGER PRIMARY KEY, org_id INTEGER REFERENCES orgs(id),
                    referred_by_id INTEGER REFERENCES users(id), email TEXT);
CREATE TABLE addresses (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id), city TEXT);
CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT);
CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id),
                     billing_address_id INTEGER NOT NULL REFERENCES addresses(id),
                     shipping_address_id INTEGER REFERENCES addresses(id));
CREATE TABLE order_items (id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL REFERENCES orders(id),
                          product_id INTEGER NOT NULL REFERENCES products(id));
CREATE TABLE flags (id INTEGER PRIMARY KEY, key TEXT);
CREATE TABLE user_flags (user_id INTEGER NOT NULL REFERENCES users(id), flag_id INTEGER NOT NULL REFERENCES flags(id),
                         PRIMARY KEY (user_id, flag_id));
CREATE TABLE audit (id INTEGER PRIMARY KEY, actor_id INTEGER, reviewer_id INTEGER REFERENCES users(id));
CREATE TABLE notes (user_id INTEGER REFERENCES users(id), body TEXT);
INSERT INTO orgs VALUES (1, 'acme', NULL), (2, 'other', NULL);
INSERT INTO users VALUES (1, 1, NULL, 'owner@x'), (2, 1, 1, 'u2@x'), (3, 2, 2, 'u3@x'), (4, 2, NULL, 'u4@x'),
                         (5, NULL, 2, 'u5@x');
UPDATE orgs SET owner_id = 1 WHERE id = 1;
UPDATE orgs SET owner_id = 4 WHERE id = 2;
INSERT INTO addresses VALUES (10, 2, 'a'), (11, 4, 'b'), (12, 3, 'c');
INSERT INTO products VALUES (100, 'p1'), (101, 'p2');
INSERT INTO orders VALUES (20, 2, 10, 11), (21, 4, 11, NULL), (22, 3, 12, NULL);
INSERT INTO order_items VALUES (30, 20, 100), (31, 21, 100), (32, 22, 101);
INSERT INTO flags VALUES (1, 'beta'), (2, 'dark');
INSERT INTO user_flags VALUES (2, 1), (3, 1), (4, 2);
INSERT INTO audit VALUES (40, 2, 4), (41, 3, NULL);
INSERT INTO notes VALUES (2, 'hello'), (3, 'other');
"""


@pytest.fixture
def db(tmp_path: Path) -> str:
    import sqlite3

    path = tmp_path / "prod.db"
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA)
    conn.close()
    return f"sqlite:///{path}"


def collect(
    url: str, user: int, subset: SubsetSettings | None = None, root: str = "users"
) -> dict[str, set[tuple]]:
    subset = subset or SubsetSettings()
    engine = create_engine(url, read_only=True)
    with read_only_snapshot(engine) as conn:
        graph = reflect(conn, None, subset.virtual_foreign_keys)
        plan = plan_subset(graph, root, "id", subset)
        result = collect_subset(conn, graph, plan, user, max_rows=subset.max_rows)
    engine.dispose()
    return {t: set(rows.key_tuples()) for t, rows in result.tables.items() if rows}


def test_user_with_referrer_org_and_gift_order(db: str) -> None:
    got = collect(db, 2)
    assert got["users"] == {(2,), (1,), (4,)}  # self, referrer (parent), owner of the gift address' user
    assert got["orders"] == {(20,)}  # user 4's own order 21 is not user 2's data
    assert got["addresses"] == {(10,), (11,)}  # own address and the gift address (a parent)
    assert got["order_items"] == {(30,)}
    assert got["products"] == {(100,)}  # catalogue as a parent only: no other user's items
    assert got["orgs"] == {(1,), (2,)}  # own org, and org 2 of user 4 (parent chain)
    assert got["user_flags"] == {(2, 1)}
    assert got["flags"] == {(1,)}
    assert "audit" not in got  # audit 40 names user 4 (a parent-only row) as reviewer: not followed
    assert got["notes"] == {(2, "hello")}  # a table without primary key: rows identified whole


def test_referred_users_are_not_followed(db: str) -> None:
    got = collect(db, 1)
    # user 2 was referred by user 1 (and 5 by 2): the users someone referred are not that user's data
    assert (2,) not in got["users"]
    assert (5,) not in got["users"]
    assert got["orgs"] == {(1,)}  # owned org comes as a child of the owner and as the user's org


def test_table_without_primary_key_and_virtual_fk(db: str) -> None:
    subset = SubsetSettings(
        virtual_foreign_keys=(VirtualForeignKey("audit", ("actor_id",), "users", ("id",)),)
    )
    got = collect(db, 3, subset)
    assert got["notes"] == {(3, "other")}
    assert got["audit"] == {(41,)}  # through the virtual FK actor_id
    assert (40,) not in got["audit"]


def test_skip_removes_an_edge(db: str) -> None:
    subset = SubsetSettings(
        virtual_foreign_keys=(VirtualForeignKey("audit", ("actor_id",), "users", ("id",)),),
        skip=("audit.reviewer_id",),
    )
    got = collect(db, 4, subset)
    assert "audit" not in got  # reviewer edge skipped; actor 4 has no audit rows


def test_follow_forces_children_of_parent_rows(db: str) -> None:
    got = collect(db, 2, SubsetSettings(follow=("order_items.order_id",)))
    # order 21 is not reached at all (user 4 is a parent only), so forcing items changes nothing for it ...
    assert got["order_items"] == {(30,)}
    got = collect(db, 3, SubsetSettings(follow=("users.org_id",)))
    assert (4,) in got["users"]  # members of the user's org come with the org: forced


def test_unknown_user_and_bad_config(db: str) -> None:
    with pytest.raises(NotFoundError, match=r"no row in users with id = 99"):
        collect(db, 99)
    with pytest.raises(ConfigError, match=r"subset.skip: table 'nope' does not exist"):
        collect(db, 2, SubsetSettings(skip=("nope.x",)))
    with pytest.raises(ConfigError, match=r"subset.skip: 'users.email' is not a foreign key"):
        collect(db, 2, SubsetSettings(skip=("users.email",)))


def test_row_limit_names_the_edge(db: str) -> None:
    with pytest.raises(RowLimitError, match=r"exceeds subset.max_rows \(3\) while following"):
        collect(db, 2, SubsetSettings(max_rows=3))


def test_load_order_breaks_cycles(db: str) -> None:
    engine = sa.create_engine(db)
    graph = reflect(engine)
    plan = plan_load(graph, graph.tables)
    assert plan.order.index("products") < plan.order.index("order_items")
    assert plan.order.index("addresses") < plan.order.index("orders")
    deferred = {fk.label for fk in plan.deferred}
    assert "users.referred_by_id -> users.id" in deferred
    assert deferred & {"orgs.owner_id -> users.id", "users.org_id -> orgs.id"}
    engine.dispose()


def test_cycle_without_nullable_fk_is_refused(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "c.db"
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE a (id INTEGER PRIMARY KEY, b_id INTEGER NOT NULL REFERENCES b(id));"
        "CREATE TABLE b (id INTEGER PRIMARY KEY, a_id INTEGER NOT NULL REFERENCES a(id));"
    )
    conn.close()
    engine = sa.create_engine(f"sqlite:///{path}")
    with pytest.raises(PlanError, match="none of its foreign keys is nullable"):
        plan_load(reflect(engine), ["a", "b"])
    engine.dispose()


def test_the_walk_keeps_keys_not_rows(db: str) -> None:
    """Memory grows by a key per row: bare one-column keys, no second set while every row of a table was
    reached downward, the row's values only where no primary key identifies it."""
    engine = create_engine(db, read_only=True)
    with read_only_snapshot(engine) as conn:
        graph = reflect(conn, None)
        plan = plan_subset(graph, "users", "id", SubsetSettings())
        result = collect_subset(conn, graph, plan, 2, max_rows=1000)
    engine.dispose()
    orders, users, notes = result.tables["orders"], result.tables["users"], result.tables["notes"]
    assert orders.keys == {20} and orders.down is None and orders.values == {}
    assert orders.down_count == 1
    assert users.keys == {1, 2, 4} and users.down == {2}  # 1 and 4 are parents only
    assert result.tables["user_flags"].keys == {(2, 1)}  # composite keys stay tuples
    assert notes.keep_values and list(notes.values.values()) == [(2, "hello")]


def test_references_to_non_key_columns(tmp_path: Path) -> None:
    """A foreign key onto a unique non-key column is followed both ways: the referenced values are kept for
    the child edge taken after the row's own round."""
    import sqlite3

    path = tmp_path / "codes.db"
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE users (id INTEGER PRIMARY KEY);
        CREATE TABLE accounts (id INTEGER PRIMARY KEY, code TEXT NOT NULL UNIQUE,
                               user_id INTEGER REFERENCES users(id));
        CREATE TABLE transfers (id INTEGER PRIMARY KEY, account_code TEXT REFERENCES accounts(code),
                                user_id INTEGER REFERENCES users(id));
        INSERT INTO users VALUES (1), (2);
        INSERT INTO accounts VALUES (10, 'A-10', 1), (11, 'B-11', 2);
        INSERT INTO transfers VALUES (100, 'A-10', 2), (101, 'B-11', 1), (102, 'B-11', 2), (103, NULL, 1);
        """
    )
    conn.close()
    got = collect(f"sqlite:///{path}", 1)
    assert got["accounts"] == {(10,), (11,)}  # its own, and B-11 as the parent of its transfer 101
    assert got["transfers"] == {(100,), (101,), (103,)}  # 100 through account A-10's code; not 102
    assert got["users"] == {(1,), (2,)}  # user 2 as the owner of account B-11 and of transfer 100


SHARED_ADDRESSES = """
CREATE TABLE users (id INTEGER PRIMARY KEY, favorite_order_id INTEGER REFERENCES orders(id));
CREATE TABLE addresses (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id));
CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id),
                     address_id INTEGER REFERENCES addresses(id));
CREATE TABLE order_items (id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL REFERENCES orders(id));
INSERT INTO users VALUES (1, 24), (2, NULL), (3, NULL);
INSERT INTO addresses VALUES (10, 1), (11, 2), (12, 3);
INSERT INTO orders VALUES (20, 1, 10), (21, 1, 10), (22, 2, 10), (23, 2, 11), (24, 3, 10), (25, 3, 12);
INSERT INTO order_items VALUES (30, 20), (31, 22), (32, 23), (33, 24), (34, 25);
"""


def test_rows_taken_through_one_edge_are_not_read_again_through_another(tmp_path: Path) -> None:
    """A user's orders come through the user and again through the user's addresses. The second lookup
    counts the rows per address first and reads the rows only of addresses with rows not taken downward yet;
    a row taken before only as a parent is then taken downward too (its own children follow)."""
    import sqlite3

    path = tmp_path / "shared.db"
    conn = sqlite3.connect(path)
    conn.executescript(SHARED_ADDRESSES)
    conn.close()
    engine = sa.create_engine(f"sqlite:///{path}")
    statements: list[str] = []
    sa.event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    with engine.connect() as conn:
        graph = reflect(conn)
        plan = plan_subset(graph, "users", "id", SubsetSettings())
        statements.clear()
        user1 = collect_subset(conn, graph, plan, 1, max_rows=1000)
        by_address_1 = [s for s in statements if "orders.address_id IN" in s]
        statements.clear()
        user2 = collect_subset(conn, graph, plan, 2, max_rows=1000)
        by_address_2 = [s for s in statements if "orders.address_id IN" in s]
    engine.dispose()

    # Address 10 also has orders of users 2 and 3; 24 came first as the parent of user 1's favorite_order_id.
    orders = user1.tables["orders"]
    assert orders.keys == {20, 21, 22, 24}
    assert orders.down == {20, 21, 22, 24}
    assert user1.tables["order_items"].keys == {30, 31, 33}  # 33 of order 24, reached downward after all
    assert [s for s in by_address_1 if "count(" not in s] != []
    assert user1.edge_rows[("orders.address_id -> addresses.id", "child")] == 1
    assert user1.edge_rows[("users.favorite_order_id -> orders.id", "parent")] == 1
    # Address 11 holds only user 2's order 23, taken through the user already: counted, not read again.
    assert user2.tables["orders"].keys == {22, 23, 24}  # 24 as user 1's favorite (user 1 owns address 10)
    assert user2.tables["orders"].down == {22, 23}
    assert [s for s in by_address_2 if "count(" in s] != []
    assert [s for s in by_address_2 if "count(" not in s] == []
    assert user2.tables["order_items"].keys == {31, 32}
