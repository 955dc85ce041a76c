"""The demo "production" database of a multi-tenant SaaS app (docs/demo-schema.md), buildable at any URL.

Deterministic for a seed: one seeded Faker and one seeded Random travel together through the generators;
nothing is seeded at module level. Ids are explicit (1..n) so tests and docs can name user 7.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from faker import Faker
from sqlalchemy.engine import Connection

from repro.db import (
    connect,
    create_engine,
    describe_db_error,
    dialect_name,
    parse_url,
    quote_ident,
    redact_url,
)
from repro.errors import DatabaseError, NotFoundError, UsageError

DEFAULT_DEMO_URL = "sqlite:///demo/production.db"
MIN_USERS = 20
SHOWCASE_USER = 7  # the customer docs/demo-schema.md makes guarantees about

Row = dict[str, Any]
Rows = dict[str, list[Row]]

_NAMING = {
    "pk": "pk_%(table_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ix": "ix_%(table_name)s_%(column_0_name)s",
}
_START = datetime(2021, 1, 4, 9, 0, 0)
_END = datetime(2025, 6, 30, 18, 0, 0)


def demo_metadata() -> sa.MetaData:
    """The demo schema, exactly as docs/demo-schema.md describes it, in portable SQLAlchemy types."""
    md = sa.MetaData(naming_convention=_NAMING)

    def col(name: str, type_: Any, *args: Any, null: bool = False, **kw: Any) -> sa.Column[Any]:
        return sa.Column(name, type_, *args, nullable=null, **kw)

    def ref(target: str, **kw: Any) -> sa.ForeignKey:
        return sa.ForeignKey(target, **kw)

    def table(name: str, *columns: sa.Column[Any]) -> None:
        sa.Table(name, md, *columns, mysql_engine="InnoDB", mysql_charset="utf8mb4")

    pk = {"primary_key": True, "autoincrement": True}
    table(
        "organizations",
        col("id", sa.Integer, **pk),
        col("name", sa.String(120)),
        col("slug", sa.String(80), unique=True),
        col("plan", sa.String(20)),
        # One half of the mutual cycle: created by ALTER after both tables exist, so create_all works.
        col(
            "owner_id",
            sa.Integer,
            ref("users.id", use_alter=True, name="fk_organizations_owner_id"),
            null=True,
        ),
        col("billing_email", sa.String(200)),
        col("created_at", sa.DateTime),
    )
    table(
        "users",
        col("id", sa.Integer, **pk),
        col("public_id", sa.Uuid),
        col("organization_id", sa.Integer, ref("organizations.id"), null=True, index=True),
        col("referred_by_id", sa.Integer, ref("users.id"), null=True, index=True),
        col("role", sa.String(20)),
        col("email", sa.String(200), unique=True),
        col("first_name", sa.String(100)),
        col("last_name", sa.String(100)),
        col("display_name", sa.String(100)),
        col("phone", sa.String(40), null=True),
        col("birth_date", sa.Date, null=True),
        col("password_hash", sa.String(100)),
        col("api_token", sa.String(64), null=True),
        col("notes", sa.Text, null=True),
        col("deleted_reason", sa.String(200), null=True),
        col("last_login_ip", sa.String(45), null=True),
        col("is_active", sa.Boolean),
        col("created_at", sa.DateTime),
    )
    table(
        "addresses",
        col("id", sa.Integer, **pk),
        col("user_id", sa.Integer, ref("users.id"), index=True),
        col("line1", sa.String(200)),
        col("line2", sa.String(200), null=True),
        col("city", sa.String(100)),
        col("postal_code", sa.String(20)),
        col("country", sa.String(2)),
        col("created_at", sa.DateTime),
    )
    table(
        "products",
        col("id", sa.Integer, **pk),
        col("sku", sa.String(40), unique=True),
        col("name", sa.String(200)),
        col("description", sa.Text),
        col("price", sa.Numeric(10, 2)),
        col("active", sa.Boolean),
        col("created_at", sa.DateTime),
    )
    table(
        "orders",
        col("id", sa.Integer, **pk),
        col("user_id", sa.Integer, ref("users.id"), index=True),
        col("billing_address_id", sa.Integer, ref("addresses.id"), index=True),
        col("shipping_address_id", sa.Integer, ref("addresses.id"), null=True, index=True),
        col("status", sa.String(20)),
        col("total", sa.Numeric(12, 2)),
        col("notes", sa.Text, null=True),
        col("placed_at", sa.DateTime),
    )
    table(
        "order_items",
        col("id", sa.Integer, **pk),
        col("order_id", sa.Integer, ref("orders.id"), index=True),
        col("product_id", sa.Integer, ref("products.id"), index=True),
        col("quantity", sa.Integer),
        col("unit_price", sa.Numeric(10, 2)),
    )
    table(
        "payments",
        col("id", sa.Integer, **pk),
        col("order_id", sa.Integer, ref("orders.id"), index=True),
        col("amount", sa.Numeric(12, 2)),
        col("method", sa.String(20)),
        col("card_last4", sa.String(4), null=True),
        col("provider_ref", sa.String(64)),
        col("paid_at", sa.DateTime, null=True),
    )
    table(
        "feature_flags",
        col("id", sa.Integer, **pk),
        col("key", sa.String(60), unique=True),
        col("description", sa.Text),
    )
    table(
        "user_feature_flags",
        col("user_id", sa.Integer, ref("users.id"), primary_key=True, autoincrement=False),
        col(
            "flag_id", sa.Integer, ref("feature_flags.id"), primary_key=True, autoincrement=False, index=True
        ),
        col("enabled", sa.Boolean),
        col("updated_at", sa.DateTime),
    )
    table(
        "support_tickets",
        col("id", sa.Integer, **pk),
        col("user_id", sa.Integer, ref("users.id"), index=True),
        col("assignee_id", sa.Integer, ref("users.id"), null=True, index=True),
        col("subject", sa.String(200)),
        col("body", sa.Text),
        col("status", sa.String(20)),
        col("created_at", sa.DateTime),
    )
    table(
        "audit_log",
        col("id", sa.Integer, **pk),
        col("actor_id", sa.Integer, null=True, index=True),  # no declared FK: a virtual one in repro.yaml
        col("reviewer_id", sa.Integer, ref("users.id"), null=True, index=True),
        col("action", sa.String(60)),
        col("payload", sa.JSON),
        col("created_at", sa.DateTime),
    )
    return md


# ---------------------------------------- generation


@dataclass(frozen=True)
class _Seeded:
    """The only sources of randomness of one build: both derive from the seed."""

    fake: Faker
    rng: random.Random

    def moment(self, start: datetime, end: datetime = _END) -> datetime:
        span = max(int((end - start).total_seconds()), 1)
        return start + timedelta(seconds=self.rng.randrange(span))

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def token(self, alphabet: str, length: int) -> str:
        return "".join(self.rng.choices(alphabet, k=length))


_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"
_BCRYPT = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_FLAGS = [
    ("new_checkout", "Single-page checkout with saved cards"),
    ("dark_mode", "Dark theme in the web app"),
    ("beta_reports", "Early access to the reporting module"),
    ("bulk_export", "CSV export of all orders"),
    ("two_factor_enforced", "Require a second factor at login"),
    ("ai_assistant", "Order assistant in the help widget"),
    ("legacy_invoices", "Invoices in the pre-2023 layout"),
    ("sso_login", "Log in through the organization's identity provider"),
]
_PRODUCT_NOUNS = [
    "Desk Lamp",
    "Notebook",
    "Backpack",
    "Water Bottle",
    "Headphones",
    "Keyboard",
    "Mug",
    "Standing Desk",
    "Webcam",
    "Monitor Arm",
    "Chair Cushion",
    "USB Hub",
    "Planner",
    "Tote Bag",
]
_PAID = ["paid", "shipped", "delivered", "refunded"]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def generate_demo_rows(seed: int = 42, users: int = 200) -> Rows:
    """Every row of the demo database, per table, in insertion order (organizations carry their owner_id)."""
    if users < MIN_USERS:
        raise UsageError(f"--users must be at least {MIN_USERS} (got {users}): the demo guarantees need them")
    fake = Faker("en_US")
    fake.seed_instance(seed)
    s = _Seeded(fake, random.Random(seed))
    rows: Rows = {}
    rows["users"], orgs_owner = _users(s, users)
    rows["organizations"] = _organizations(s, orgs_owner, rows["users"])
    rows["addresses"] = _addresses(s, rows["users"])
    rows["products"] = _products(s, max(30, users // 4))
    rows["feature_flags"] = [
        {"id": i, "key": k, "description": d} for i, (k, d) in enumerate(_FLAGS, start=1)
    ]
    rows["orders"], rows["order_items"], rows["payments"] = _orders(s, rows)
    rows["user_feature_flags"] = _user_flags(s, rows["users"])
    admins = [u["id"] for u in rows["users"] if u["role"] == "admin"]
    rows["support_tickets"] = _tickets(s, rows["users"], admins)
    rows["audit_log"] = _audit_log(s, rows, admins)
    return rows


def _users(s: _Seeded, n: int) -> tuple[list[Row], dict[int, int]]:
    rng, fake, me = s.rng, s.fake, SHOWCASE_USER
    others = [u for u in range(2, n + 1) if u != me]
    admins = {1, *rng.sample(others, round(n * 0.1) - 1)}
    # About 30% were referred by an earlier user; user 7 was referred and has referred someone.
    referred_by = {u: rng.randint(1, u - 1) for u in sorted({me, *rng.sample(others, round(n * 0.3) - 1)})}
    if me not in referred_by.values():
        later = [u for u in referred_by if u > me] or [u for u in others if u > me]
        referred_by[rng.choice(later)] = me
    # Organizations: org 1 is owned by admin 1, each other org by one of its customer members (never user 7).
    n_orgs = max(4, n // 12)
    owners = {1: 1} | dict(
        zip(range(2, n_orgs + 1), rng.sample([u for u in others if u not in admins], n_orgs - 1), strict=True)
    )
    org_of: dict[int, int | None] = {
        u: (rng.randint(1, n_orgs) if s.chance(0.85) else None) for u in range(1, n + 1)
    }
    org_of.update({owner: org for org, owner in owners.items()})
    org_of[me] = org_of[me] or rng.randint(2, n_orgs)
    plain = [u for u in others if u not in owners.values()]
    if all(org_of[u] is not None for u in plain):
        org_of[plain[-1]] = None
    rows = []
    span = (_END - _START) / (n + 1)
    for uid in range(1, n + 1):
        first, last = fake.first_name(), fake.last_name()
        email = re.sub(r"[^a-z0-9.@]", "", f"{first}.{last}{uid}@{fake.free_email_domain()}".lower())
        phone = fake.phone_number() if uid == me or s.chance(0.8) else None
        active = uid in (1, me) or s.chance(0.94)
        rows.append(
            {
                "id": uid,
                "public_id": fake.uuid4(cast_to=None),
                "organization_id": org_of[uid],
                "referred_by_id": referred_by.get(uid),
                "role": "admin" if uid in admins else "customer",
                "email": email,
                "first_name": first,
                "last_name": last,
                "display_name": f"{first} {last[0]}.",
                "phone": phone,
                "birth_date": date(1950, 1, 1) + timedelta(days=rng.randrange(20000))
                if s.chance(0.75)
                else None,
                "password_hash": "$2b$12$" + s.token(_BCRYPT, 53),
                "api_token": s.token("0123456789abcdef", 64) if uid == me or s.chance(0.4) else None,
                "notes": _user_note(s, phone) if uid == me or s.chance(0.25) else None,
                "deleted_reason": None
                if active
                else rng.choice(
                    [
                        "asked to close the account",
                        "duplicate account",
                        "payment fraud",
                        f"GDPR request by {email}",
                    ]
                ),
                "last_login_ip": (fake.ipv6() if s.chance(0.1) else fake.ipv4_public())
                if s.chance(0.9)
                else None,
                "is_active": active,
                "created_at": (
                    _START + span * (uid - 1) + timedelta(seconds=rng.randrange(int(span.total_seconds())))
                ).replace(microsecond=0),
            }
        )
    for column in ("phone", "birth_date"):
        if all(r[column] is not None for r in rows):
            rows[-1][column] = None
    return rows, owners


def _user_note(s: _Seeded, phone: str | None) -> str:
    options = [
        f"Prefers to be called at {phone}." if phone else "Prefers email over phone.",
        f"Met at {s.fake.city()} trade fair; {s.fake.sentence(nb_words=6)}",
        f"VIP: {s.fake.sentence(nb_words=8)}",
    ]
    return s.rng.choice(options)


def _organizations(s: _Seeded, owners: dict[int, int], users: list[Row]) -> list[Row]:
    rows = []
    for org_id, owner in sorted(owners.items()):
        name = s.fake.company()
        core = _slug(name)[:60]
        rows.append(
            {
                "id": org_id,
                "name": name,
                "slug": f"{core}-{org_id}",
                "plan": s.rng.choices(["free", "team", "enterprise"], weights=[5, 4, 1])[0],
                "owner_id": owner,
                "billing_email": f"billing@{core.replace('-', '')[:40]}.example.com",
                "created_at": users[owner - 1]["created_at"] - timedelta(minutes=s.rng.randint(1, 600)),
            }
        )
    return rows


def _addresses(s: _Seeded, users: list[Row]) -> list[Row]:
    rows: list[Row] = []
    for user in users:
        count = s.rng.choices([0, 1, 2, 3], weights=[5, 55, 28, 12])[0]
        for _ in range(max(count, 2) if user["id"] == SHOWCASE_USER else count):
            rows.append(
                {
                    "id": len(rows) + 1,
                    "user_id": user["id"],
                    "line1": s.fake.street_address(),
                    "line2": s.fake.secondary_address() if s.chance(0.3) else None,
                    "city": s.fake.city(),
                    "postal_code": s.fake.postcode(),
                    "country": s.rng.choices(["US", "CA", "GB", "DE", "FR"], weights=[80, 6, 6, 4, 4])[0],
                    "created_at": s.moment(user["created_at"]),
                }
            )
    return rows


def _products(s: _Seeded, count: int) -> list[Row]:
    return [
        {
            "id": pid,
            "sku": f"SKU-{pid:05d}",
            "name": f"{s.fake.color_name()} {s.rng.choice(_PRODUCT_NOUNS)}",
            "description": s.fake.paragraph(nb_sentences=3),
            "price": Decimal(s.rng.randrange(199, 49999)) / 100,
            "active": s.chance(0.9),
            "created_at": s.moment(_START - timedelta(days=365), _START),
        }
        for pid in range(1, count + 1)
    ]


def _orders(s: _Seeded, rows: Rows) -> tuple[list[Row], list[Row], list[Row]]:
    rng, me = s.rng, SHOWCASE_USER
    own: dict[int, list[int]] = {}
    for a in rows["addresses"]:
        own.setdefault(a["user_id"], []).append(a["id"])
    all_addresses = [a["id"] for a in rows["addresses"]]
    products = rows["products"]
    orders: list[Row] = []
    items: list[Row] = []
    payments: list[Row] = []
    for user in rows["users"]:
        mine = own.get(user["id"], [])
        count = rng.choices(range(9), weights=[12, 14, 16, 16, 12, 10, 8, 7, 5])[0] if mine else 0
        for n in range(max(count, 4) if user["id"] == me else count):
            status = (
                rng.choice(_PAID)
                if user["id"] == me
                else rng.choices(["pending", *_PAID, "cancelled"], weights=[8, 20, 20, 40, 4, 8])[0]
            )
            roll = rng.random()
            shipping: int | None = rng.choice(mine)
            if (user["id"] == me and n == 0) or 0.15 <= roll < 0.2:  # a gift to someone else's address
                shipping = rng.choice([a for a in all_addresses if a not in mine])
            elif roll < 0.15:
                shipping = None
            order_id, placed = len(orders) + 1, s.moment(user["created_at"])
            total = Decimal("0.00")
            for product in rng.sample(products, rng.randint(1, 4)):
                price = (
                    product["price"]
                    if s.chance(0.85)
                    else (product["price"] * Decimal("0.9")).quantize(Decimal("0.01"))
                )
                quantity = rng.choices([1, 2, 3], weights=[70, 20, 10])[0]
                total += price * quantity
                items.append(
                    {
                        "id": len(items) + 1,
                        "order_id": order_id,
                        "product_id": product["id"],
                        "quantity": quantity,
                        "unit_price": price,
                    }
                )
            notes = (
                rng.choice(
                    [
                        f"Call {s.fake.phone_number()} on arrival",
                        "Leave at the back door",
                        f"Gift for {s.fake.name()}",
                    ]
                )
                if s.chance(0.15)
                else None
            )
            orders.append(
                {
                    "id": order_id,
                    "user_id": user["id"],
                    "billing_address_id": rng.choice(mine),
                    "shipping_address_id": shipping,
                    "status": status,
                    "total": total,
                    "notes": notes,
                    "placed_at": placed,
                }
            )
            payments.extend(_payments(s, order_id, status, total, placed, len(payments)))
    if all(o["shipping_address_id"] is not None for o in orders):
        next(o for o in reversed(orders) if o["user_id"] != me)["shipping_address_id"] = None
    return orders, items, payments


def _payments(
    s: _Seeded, order_id: int, status: str, total: Decimal, placed: datetime, done: int
) -> list[Row]:
    if status == "cancelled" or (status == "pending" and not s.chance(0.3)):
        return []
    parts = [total]
    if status != "pending" and total > 20 and s.chance(0.1):  # split across two payment methods
        first = (total * Decimal(s.rng.randint(30, 70)) / 100).quantize(Decimal("0.01"))
        parts = [first, total - first]
    out: list[Row] = []
    for amount in parts:
        method = s.rng.choices(["card", "paypal", "transfer"], weights=[65, 25, 10])[0]
        ref = {
            "card": "ch_" + s.token(_ALNUM, 24),
            "paypal": "PAYID-" + s.token(_ALNUM.upper(), 20),
            "transfer": "TRF-" + s.token("0123456789", 12),
        }[method]
        out.append(
            {
                "id": done + len(out) + 1,
                "order_id": order_id,
                "amount": amount,
                "method": method,
                "card_last4": s.token("0123456789", 4) if method == "card" else None,
                "provider_ref": ref,
                "paid_at": None if status == "pending" else placed + timedelta(minutes=s.rng.randint(1, 90)),
            }
        )
    return out


def _user_flags(s: _Seeded, users: list[Row]) -> list[Row]:
    rows = []
    for user in users:
        count = s.rng.choices([0, 1, 2, 3, 4], weights=[30, 25, 20, 15, 10])[0]
        for flag in sorted(
            s.rng.sample(range(1, len(_FLAGS) + 1), max(count, 2) if user["id"] == 7 else count)
        ):
            rows.append(
                {
                    "user_id": user["id"],
                    "flag_id": flag,
                    "enabled": s.chance(0.7),
                    "updated_at": s.moment(user["created_at"]),
                }
            )
    return rows


def _tickets(s: _Seeded, users: list[Row], admins: list[int]) -> list[Row]:
    rows: list[Row] = []
    subjects = [
        "Charged twice for order #{n}",
        "Cannot log in since {d}",
        "Wrong item in order #{n}",
        "Please update my address",
        "Invoice needed for order #{n}",
        "Delete my account",
    ]
    for user in users:
        count = s.rng.choice([1, 2]) if s.chance(0.3) else 0
        for k in range(max(count, 1) if user["id"] == SHOWCASE_USER else count):
            assigned = (user["id"] == SHOWCASE_USER and k == 0) or s.chance(0.75)
            subject = s.rng.choice(subjects).format(n=s.rng.randint(1000, 9999), d=s.fake.day_of_week())
            rows.append(
                {
                    "id": len(rows) + 1,
                    "user_id": user["id"],
                    "assignee_id": s.rng.choice(admins) if assigned else None,
                    "subject": subject,
                    "body": f"{s.fake.paragraph(nb_sentences=2)} You can reach me at {user['email']}"
                    + (f" or {user['phone']}." if user["phone"] else "."),
                    "status": s.rng.choice(["open", "pending", "solved", "closed"]),
                    "created_at": s.moment(user["created_at"]),
                }
            )
    return rows


def _audit_log(s: _Seeded, rows: Rows, admins: list[int]) -> list[Row]:
    skus = {p["id"]: p["sku"] for p in rows["products"]}
    items_of: dict[int, list[int]] = {}
    for item in rows["order_items"]:
        items_of.setdefault(item["order_id"], []).append(item["product_id"])
    orders_of: dict[int, list[int]] = {}
    for order in rows["orders"]:
        orders_of.setdefault(order["user_id"], []).append(order["id"])
    entries: list[Row] = []
    for user in rows["users"]:
        base = {"email": user["email"], "ip": user["last_login_ip"] or s.fake.ipv4_public()}
        count = s.rng.randint(3, 5) if user["id"] == SHOWCASE_USER else s.rng.randint(0, 4)
        for k in range(count):
            action = s.rng.choice(["login", "update_profile", "password_reset"] + ["checkout"] * 2)
            payload: dict[str, Any] = dict(base)
            if action == "checkout" and orders_of.get(user["id"]):
                order_id = s.rng.choice(orders_of[user["id"]])
                payload.update(
                    order_id=order_id,
                    items=[{"sku": skus[p], "note": s.fake.sentence(nb_words=5)} for p in items_of[order_id]],
                )
            elif action == "update_profile":
                payload["changes"] = {"phone": s.fake.phone_number(), "name": f"{s.fake.first_name()}"}
            else:
                action = "login" if action == "checkout" else action
                payload["user_agent"] = s.fake.user_agent()
            reviewed = (user["id"] == SHOWCASE_USER and k == 0) or s.chance(0.1)
            entries.append(
                {
                    "actor_id": user["id"],
                    "reviewer_id": s.rng.choice(admins) if reviewed else None,
                    "action": action,
                    "payload": payload,
                    "created_at": s.moment(user["created_at"]),
                }
            )
    for _ in range(max(2, len(rows["users"]) // 10)):  # system jobs: no actor
        entries.append(
            {
                "actor_id": None,
                "reviewer_id": None,
                "action": "nightly_export",
                "payload": {"rows": s.rng.randint(1000, 90000)},
                "created_at": s.moment(_START),
            }
        )
    entries.sort(key=lambda e: e["created_at"])  # stable: ties keep generation order
    return [{"id": i, **e} for i, e in enumerate(entries, start=1)]


# ---------------------------------------- building


@dataclass(frozen=True)
class DemoResult:
    """What `build_demo_database` wrote: rows per table, in creation order."""

    url: str  # password redacted
    seed: int
    users: int
    counts: dict[str, int]
    elapsed_s: float

    @property
    def total_rows(self) -> int:
        return sum(self.counts.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "seed": self.seed,
            "users": self.users,
            "counts": self.counts,
            "total_rows": self.total_rows,
            "elapsed_s": round(self.elapsed_s, 3),
        }


def build_demo_database(url: str, *, seed: int = 42, users: int = 200, force: bool = False) -> DemoResult:
    """Create the demo tables at `url` and fill them; refuses a non-empty database unless `force`."""
    started = time.perf_counter()
    rows = generate_demo_rows(seed, users)
    _make_sqlite_folder(url)
    md = demo_metadata()
    engine = create_engine(url)
    shown = redact_url(engine.url)
    try:
        with connect(engine) as conn:
            existing = sa.inspect(conn).get_table_names()
            conn.rollback()
            if existing and not force:
                raise UsageError(
                    f"{shown} is not empty ({len(existing)} tables); "
                    "pass --force to drop and recreate the demo tables"
                )
            _drop_demo_tables(conn, [t for t in md.tables if t in existing])
            md.create_all(conn)
            conn.commit()
            _insert_rows(conn, md, rows)  # one transaction for all the data
            conn.commit()
    except sa.exc.SQLAlchemyError as exc:
        raise DatabaseError(f"cannot build the demo database at {shown}: {describe_db_error(exc)}") from None
    finally:
        engine.dispose()
    counts = {name: len(rows[name]) for name in md.tables}
    return DemoResult(shown, seed, users, counts, time.perf_counter() - started)


def _make_sqlite_folder(url: str) -> None:
    parsed = parse_url(url)
    database = parsed.database or ""
    if (
        parsed.get_backend_name() == "sqlite"
        and database not in ("", ":memory:")
        and not database.startswith("file:")
    ):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _drop_demo_tables(conn: Connection, names: list[str]) -> None:
    """Drop the demo tables whatever constraints an earlier build left between them (other tables stay)."""
    if not names:
        return
    dialect = dialect_name(conn)
    # The checks are off only while dropping; SQLite's pragma is a no-op inside a transaction, and here
    # none is open yet (the driver begins one only before DML).
    checks = {"mysql": "SET FOREIGN_KEY_CHECKS = {}", "sqlite": "PRAGMA foreign_keys = {}"}.get(dialect)
    if checks:
        conn.exec_driver_sql(checks.format(0))
    for name in names:
        cascade = " CASCADE" if dialect == "postgresql" else ""
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {quote_ident(conn, name)}{cascade}")
    if checks:
        conn.exec_driver_sql(checks.format(1))


def _insert_rows(conn: Connection, md: sa.MetaData, rows: Rows) -> None:
    """Bulk inserts in dependency order; the organization owners (the cycle) are set afterwards."""
    orgs = md.tables["organizations"]
    for table in md.sorted_tables:
        data = rows[table.name]
        if table is orgs:
            data = [{**r, "owner_id": None} for r in data]
        if data:
            conn.execute(table.insert(), data)
    owners = [{"org": r["id"], "owner": r["owner_id"]} for r in rows["organizations"]]
    conn.execute(
        sa.update(orgs).where(orgs.c.id == sa.bindparam("org")).values(owner_id=sa.bindparam("owner")), owners
    )
    if dialect_name(conn) == "postgresql":  # explicit ids leave serial sequences behind: move them past
        for table in md.sorted_tables:
            if table.autoincrement_column is not None and rows[table.name]:
                column = table.autoincrement_column.name
                conn.execute(
                    sa.text("SELECT setval(pg_get_serial_sequence(:t, :c), :v)"),
                    {"t": table.name, "c": column, "v": max(r[column] for r in rows[table.name])},
                )


# ---------------------------------------- demo show


@dataclass(frozen=True)
class RelatedCount:
    table: str
    production: int
    staging: int | None  # None: the table does not exist on staging


@dataclass(frozen=True)
class DemoComparison:
    """One user's row in production next to the (masked) row on staging, and their related row counts."""

    user_id: int
    source: str
    target: str
    columns: tuple[str, ...]
    production: Row
    staging: Row | None  # None: the user has not been copied
    counts: tuple[RelatedCount, ...]

    def changed_columns(self) -> list[str]:
        if self.staging is None:
            return []
        return [c for c in self.columns if self.staging.get(c) != self.production.get(c)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "source": self.source,
            "target": self.target,
            "production": self.production,
            "staging": self.staging,
            "changed": self.changed_columns(),
            "counts": [
                {"table": c.table, "production": c.production, "staging": c.staging} for c in self.counts
            ],
        }


def describe_user(source_url: str, target_url: str, user_id: int) -> DemoComparison:
    """Read user `user_id` from production (read-only) and staging, for `repro demo show`."""
    md = demo_metadata()
    source = create_engine(source_url, read_only=True)
    try:
        with connect(source) as conn:
            production = _user_row(conn, md, user_id, None)
            if production is None:
                raise NotFoundError(f"user {user_id} not found in production ({redact_url(source.url)})")
            prod_counts = _related_counts(conn, md, user_id, set(md.tables))
    except sa.exc.SQLAlchemyError as exc:
        raise DatabaseError(f"cannot read {redact_url(source.url)}: {describe_db_error(exc)}") from None
    finally:
        source.dispose()
    staging, stg_counts = _read_staging(target_url, md, user_id)
    counts = tuple(RelatedCount(t, n or 0, stg_counts.get(t)) for t, n in prod_counts.items())
    columns = tuple(md.tables["users"].columns.keys())
    return DemoComparison(
        user_id, redact_url(source_url), redact_url(target_url), columns, production, staging, counts
    )


def _read_staging(target_url: str, md: sa.MetaData, user_id: int) -> tuple[Row | None, dict[str, int | None]]:
    parsed = parse_url(target_url)
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or ":memory:").exists():
        return None, {}  # no staging file yet: do not create one by looking
    target = create_engine(target_url, read_only=True)
    try:
        with connect(target) as conn:
            inspector = sa.inspect(conn)
            present = set(inspector.get_table_names()) & set(md.tables)
            if "users" not in present:
                return None, {}
            columns = {c["name"] for c in inspector.get_columns("users")}
            return _user_row(conn, md, user_id, columns), _related_counts(conn, md, user_id, present)
    except sa.exc.SQLAlchemyError as exc:
        raise DatabaseError(f"cannot read {redact_url(target.url)}: {describe_db_error(exc)}") from None
    finally:
        target.dispose()


def _user_row(conn: Connection, md: sa.MetaData, user_id: int, columns: set[str] | None) -> Row | None:
    users = md.tables["users"]
    selected = [c for c in users.columns if columns is None or c.name in columns]
    row = conn.execute(sa.select(*selected).where(users.c.id == user_id)).mappings().first()
    return dict(row) if row is not None else None


def _related_counts(
    conn: Connection, md: sa.MetaData, user_id: int, present: set[str]
) -> dict[str, int | None]:
    t = md.tables
    orders_of = sa.select(t["orders"].c.id).where(t["orders"].c.user_id == user_id)
    filters: dict[str, Callable[[], Any]] = {
        "addresses": lambda: t["addresses"].c.user_id == user_id,
        "orders": lambda: t["orders"].c.user_id == user_id,
        "order_items": lambda: t["order_items"].c.order_id.in_(orders_of),
        "payments": lambda: t["payments"].c.order_id.in_(orders_of),
        "user_feature_flags": lambda: t["user_feature_flags"].c.user_id == user_id,
        "support_tickets": lambda: t["support_tickets"].c.user_id == user_id,
        "audit_log": lambda: t["audit_log"].c.actor_id == user_id,
    }
    counts: dict[str, int | None] = {}
    for name, where in filters.items():
        needed = {name, "orders"} if name in ("order_items", "payments") else {name}
        if needed <= present:
            counts[name] = int(
                conn.execute(sa.select(sa.func.count()).select_from(t[name]).where(where())).scalar_one()
            )
        else:
            counts[name] = None
    return counts
