"""The floor of `make bench`: one user's rows moved by hand-written `COPY (SELECT ...) TO STDOUT` piped into
`COPY ... FROM STDIN` of a staging database, in one target transaction, no masking and no planning.

The SELECTs spell out, for the demo schema only, the rows `repro copy-user` takes (docs/demo-schema.md and the
traversal rules of DESIGN.md, with the bench's repro.yaml: virtual FK audit_log.actor_id -> users.id, skip
audit_log.reviewer_id): the user, every row that depends on it, and the parents those rows need, closed
transitively over users.referred_by_id and organizations.owner_id. The driver compares the row counts with the
ones repro reports, so a divergence shows in the results instead of skewing the ratio silently.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg2.extensions

from repro.demo import demo_metadata

# Parents before children; the mutual organizations <-> users cycle is why the target session runs with
# `session_replication_role = replica` (no foreign-key triggers): the floor does no ordering work.
LOAD_ORDER = (
    "organizations",
    "users",
    "addresses",
    "products",
    "feature_flags",
    "orders",
    "order_items",
    "payments",
    "user_feature_flags",
    "support_tickets",
    "audit_log",
)


@dataclass
class Keys:
    """The keys of the rows a copy of one user takes, found with small indexed queries."""

    root: int
    users: set[int] = field(default_factory=set)
    organizations: set[int] = field(default_factory=set)
    addresses: set[int] = field(default_factory=set)
    orders: set[int] = field(default_factory=set)
    tickets: set[int] = field(default_factory=set)


def int_array(ids: set[int] | list[int]) -> str:
    """An SQL integer-array literal: `'{1,2,3}'::int[]` (ids only, never text)."""
    return "'{" + ",".join(str(int(i)) for i in sorted(ids)) + "}'::int[]"


def collect_keys(cur: psycopg2.extensions.cursor, root: int) -> Keys:
    """Walk the demo schema from user `root`: its dependent rows, then the parents they need, transitively."""
    keys = Keys(root)
    cur.execute(
        """WITH a AS (SELECT id FROM addresses WHERE user_id = %(r)s)
           SELECT id, user_id, billing_address_id, shipping_address_id FROM orders WHERE user_id = %(r)s
           UNION SELECT id, user_id, billing_address_id, shipping_address_id FROM orders
                 WHERE billing_address_id IN (SELECT id FROM a)
           UNION SELECT id, user_id, billing_address_id, shipping_address_id FROM orders
                 WHERE shipping_address_id IN (SELECT id FROM a)""",
        {"r": root},
    )
    wanted_users = {root}
    for order_id, user_id, billing, shipping in cur.fetchall():
        keys.orders.add(order_id)
        wanted_users.add(user_id)
        keys.addresses.add(billing)
        if shipping is not None:
            keys.addresses.add(shipping)
    cur.execute("SELECT id FROM addresses WHERE user_id = %s", (root,))
    keys.addresses.update(r[0] for r in cur.fetchall())
    cur.execute(
        "SELECT id, user_id, assignee_id FROM support_tickets WHERE user_id = %s OR assignee_id = %s",
        (root, root),
    )
    for ticket_id, user_id, assignee in cur.fetchall():
        keys.tickets.add(ticket_id)
        wanted_users.update(u for u in (user_id, assignee) if u is not None)
    cur.execute("SELECT DISTINCT user_id FROM addresses WHERE id = ANY(%s)", (sorted(keys.addresses),))
    wanted_users.update(r[0] for r in cur.fetchall())
    cur.execute("SELECT id FROM organizations WHERE owner_id = %s", (root,))
    keys.organizations.update(r[0] for r in cur.fetchall())
    frontier = wanted_users
    while frontier:  # parents of parents: referrers, organizations and their owners
        keys.users |= frontier
        cur.execute(
            "SELECT referred_by_id, organization_id FROM users WHERE id = ANY(%s)", (sorted(frontier),)
        )
        found: set[int] = set()
        new_orgs: set[int] = set()
        for referrer, org in cur.fetchall():
            if referrer is not None:
                found.add(referrer)
            if org is not None and org not in keys.organizations:
                new_orgs.add(org)
        if new_orgs:
            keys.organizations |= new_orgs
            cur.execute(
                "SELECT owner_id FROM organizations WHERE id = ANY(%s) AND owner_id IS NOT NULL",
                (sorted(new_orgs),),
            )
            found.update(r[0] for r in cur.fetchall())
        frontier = found - keys.users
    return keys


def subset_queries(keys: Keys) -> dict[str, str]:
    """Table -> the SELECT (all columns, in table order) of the rows a copy of `keys.root` takes."""
    md = demo_metadata()
    root = int(keys.root)
    orders = int_array(keys.orders)
    where = {
        "organizations": f"id = ANY({int_array(keys.organizations)})",
        "users": f"id = ANY({int_array(keys.users)})",
        "addresses": f"id = ANY({int_array(keys.addresses)})",
        "products": f"id IN (SELECT product_id FROM order_items WHERE order_id = ANY({orders}))",
        "feature_flags": f"id IN (SELECT flag_id FROM user_feature_flags WHERE user_id = {root})",
        "orders": f"id = ANY({orders})",
        "order_items": f"order_id = ANY({orders})",
        "payments": f"order_id = ANY({orders})",
        "user_feature_flags": f"user_id = {root}",
        "support_tickets": f"id = ANY({int_array(keys.tickets)})",
        "audit_log": f"actor_id = {root}",
    }
    out = {}
    for table in LOAD_ORDER:
        columns = ", ".join(md.tables[table].columns.keys())
        out[table] = f"SELECT {columns} FROM {table} WHERE {where[table]}"
    return out


def copy_in_statement(table: str) -> str:
    columns = ", ".join(demo_metadata().tables[table].columns.keys())
    return f"COPY {table} ({columns}) FROM STDIN"


@dataclass
class PipelineRun:
    elapsed_s: float
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


Connect = Callable[[str], psycopg2.extensions.connection]


def run_pipeline(connect: Connect, source_db: str, target_db: str, root: int) -> PipelineRun:
    """Move user `root`'s rows from `source_db` to `target_db`; timed from connecting to the commit."""
    started = time.perf_counter()
    source, target = connect(source_db), connect(target_db)
    try:
        return _copy_all(source, target, root, started)
    finally:
        source.close()
        target.close()


def _copy_all(
    source: psycopg2.extensions.connection,
    target: psycopg2.extensions.connection,
    root: int,
    started: float,
) -> PipelineRun:
    source.set_session(isolation_level="REPEATABLE READ", readonly=True)
    rows: dict[str, int] = {}
    with source.cursor() as scur, target.cursor() as tcur:
        queries = subset_queries(collect_keys(scur, root))
        tcur.execute("SET session_replication_role = replica")
        for table in LOAD_ORDER:
            buffer = io.BytesIO()
            scur.copy_expert(f"COPY ({queries[table]}) TO STDOUT", buffer)
            rows[table] = buffer.getvalue().count(b"\n")  # text format: one line per row
            buffer.seek(0)
            tcur.copy_expert(copy_in_statement(table), buffer)
    target.commit()
    source.rollback()
    return PipelineRun(time.perf_counter() - started, rows)
