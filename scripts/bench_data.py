"""The data of the `make bench` databases: their shapes and the set-based SQL that fills the demo tables.

Every value is a pure function of the row's position (PostgreSQL's `hashint8extended` is the random source), so
a build is reproducible and needs no Python row loop. The heavy and the light user are placed explicitly (their
ids and row counts do not depend on the size of the database); the other rows are spread pseudo-randomly, the
heavy user's orders evenly over the whole orders table, as in production.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa


@dataclass(frozen=True)
class Shape:
    """The size of one benchmark database; the heavy and light users are the same whatever the size."""

    name: str
    users: int
    heavy_orders: int = 20_000
    light_orders: int = 5
    items_per_heavy_order: int = 3
    heavy_addresses: int = 6
    heavy_tickets: int = 50
    heavy_audit: int = 200
    light_audit: int = 3
    products: int = 20_000  # a shared catalogue: the same at both sizes, so the heavy subset is the same

    def __post_init__(self) -> None:
        if self.users < 100:
            raise ValueError(f"{self.name}: at least 100 users are needed (got {self.users})")
        if self.heavy_orders % self.light_orders:
            raise ValueError(f"{self.name}: heavy_orders must be a multiple of light_orders")
        if self.total_orders < 2 * self.heavy_orders:
            raise ValueError(f"{self.name}: too few users for {self.heavy_orders} heavy orders")

    @property
    def heavy_user(self) -> int:
        return self.users // 2 - (self.users // 2) % 10  # a customer (admins are ids ending in 1)

    @property
    def light_user(self) -> int:
        return self.heavy_user + 2

    @property
    def organizations(self) -> int:
        return max(4, self.users // 12)

    @property
    def feature_flags(self) -> int:
        return 40

    @property
    def normal_orders(self) -> int:
        return 3 * self.users

    @property
    def total_orders(self) -> int:
        return self.normal_orders + self.heavy_orders + self.light_orders

    @property
    def base_addresses(self) -> int:
        return self.users + self.users // 2  # every user's primary address, then second addresses

    @property
    def tickets(self) -> int:
        return self.users * 2 // 5

    @property
    def audit(self) -> int:
        return 2 * self.users

    def fingerprint(self) -> dict[str, Any]:
        return {**asdict(self), "generator": GENERATOR_VERSION}


GENERATOR_VERSION = 2  # bump when the SQL below changes what a build contains

# The databases of one benchmark run: the production-like one, the same shape 100x smaller (same heavy and
# light user), and the scaled-down pair of `--small`.
LARGE = Shape("repro_bench_large", 1_000_000)
LARGE_X100 = Shape("repro_bench_small_x100", 10_000)
_QUICK_USER = {"heavy_orders": 1_000, "heavy_tickets": 10, "heavy_audit": 50, "products": 2_000}
QUICK = Shape("repro_bench_quick", 10_000, **_QUICK_USER)
QUICK_X10 = Shape("repro_bench_quick_x10", 1_000, **_QUICK_USER)
STAGING_TEMPLATE = "repro_bench_staging_template"

# ---------------------------------------------------------------- SQL helpers


def rnd(expr: str, stream: int, modulo: int | str) -> str:
    """SQL for a deterministic pseudo-random integer in [0, modulo) drawn from `expr` (an integer)."""
    return f"((hashint8extended(({expr})::bigint, {stream}) & 9223372036854775807) % ({modulo}))"


def pick(values: str | list[str], expr: str, stream: int) -> str:
    """SQL choosing one of `values` (a list, or one space-separated string) deterministically."""
    if isinstance(values, str):
        values = values.split()
    literal = ",".join("'" + v.replace("'", "''") + "'" for v in values)
    return f"(ARRAY[{literal}])[{rnd(expr, stream, len(values))} + 1]"


def other_user(expr: str, shape: Shape) -> str:
    """A user id from `expr` that is never the heavy or the light user (their rows are placed explicitly)."""
    h, lt = shape.heavy_user, shape.light_user
    return f"(CASE WHEN ({expr}) IN ({h}, {lt}) THEN ({expr}) + 1 ELSE ({expr}) END)"


def rand_user(expr: str, stream: int, shape: Shape) -> str:
    """A pseudo-random user id (1..users) drawn from `expr`, never the heavy or the light user."""
    return other_user(rnd(expr, stream, shape.users) + " + 1", shape)


def moment(fraction: str, jitter_expr: str, stream: int) -> str:
    """A timestamp between 2021-01-04 and 2025-06-30: `fraction` in [0, 1] plus up to 3 days of jitter."""
    return (
        f"(timestamp '2021-01-04 08:00' + ({fraction}) * interval '1633 days'"
        f" + {rnd(jitter_expr, stream, 259200)} * interval '1 second')"
    )


# Word lists of the generated values, space-separated (pick() splits them).
FIRST = (
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard "
    "Susan Joseph Jessica Thomas Sarah Carlos Karen Daniel Lisa Matthew Nancy Anthony Betty Mark "
    "Sandra Amira Ashley Steven Kimberly Paul Emily Andrew Donna Joshua Michelle Kenji Sofia Lars "
    "Ingrid Mateo Chloe"
)
LAST = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez "
    "Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris "
    "Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill "
    "Flores Okafor Schmidt Rossi Kowalski"
)
DOMAINS = "gmail.com yahoo.com hotmail.com outlook.com proton.me icloud.com gmx.de"
CITIES = (
    "Springfield Riverside Franklin Greenville Bristol Clinton Fairview Salem Madison Georgetown "
    "Arlington Ashland Dover Oxford Jackson Burlington Manchester Milton Newport Auburn"
)
STREETS = "Oak Maple Cedar Pine Elm Washington Lake Hill Park Main View Sunset River Church Mill"
SUFFIXES = "Street Avenue Road Lane Drive Court Way"
COUNTRIES = "US US US GB DE FR CA NL ES IT"
NOUNS = (
    "Lamp Notebook Backpack Bottle Headphones Keyboard Mug Desk Webcam Arm Cushion Hub Planner Bag "
    "Charger Mouse Stand Cable Speaker Tripod"
)
ADJECTIVES = "Compact Classic Deluxe Eco Pro Mini Ultra Smart Travel Studio"
WORDS = (
    "order delivery package refund invoice account login password address payment card late broken "
    "missing wrong charged twice cancel update help urgent please thanks"
)


def _sentence(expr: str, stream: int, words: int) -> str:
    parts = [pick(WORDS, f"({expr}) * 16 + {k}", stream) for k in range(words)]
    return "(" + " || ' ' || ".join(parts) + ")"


# ---------------------------------------------------------------- the load statements


def load_statements(shape: Shape) -> list[tuple[str, str]]:
    """(label, SQL) in execution order: fills every demo table of an empty database with `shape`'s rows."""
    s = shape
    n, h, lt = s.users, s.heavy_user, s.light_user
    orgs, products, flags = s.organizations, s.products, s.feature_flags
    total, heavy, light = s.total_orders, s.heavy_orders, s.light_orders
    extra_addr0 = s.base_addresses  # the heavy user's extra addresses follow the base ones
    first = pick(FIRST, "u", 1)
    last = pick(LAST, "u", 2)
    out: list[tuple[str, str]] = []
    out.append(
        (
            "organizations",
            f"""INSERT INTO organizations (id, name, slug, plan, owner_id, billing_email, created_at)
SELECT k, {pick(ADJECTIVES, "k", 3)} || ' ' || {pick(LAST, "k", 4)} || ' ' || {pick(["Ltd", "GmbH", "Inc", "LLC", "Group"], "k", 5)},
       'org-' || k, {pick(["free", "free", "team", "team", "enterprise"], "k", 6)}, NULL,
       'billing.' || k || '@' || lower({pick(LAST, "k", 4)}) || '-corp.example.net',
       {moment(f"k::float / {orgs}", "k", 7)}
FROM generate_series(1, {orgs}) AS k""",
        )
    )
    out.append(
        (
            "users",
            f"""INSERT INTO users (id, public_id, organization_id, referred_by_id, role, email, first_name, last_name,
    display_name, phone, birth_date, password_hash, api_token, notes, deleted_reason, last_login_ip, is_active,
    created_at)
SELECT u, md5('user-' || u)::uuid,
       CASE WHEN u IN ({h}, {lt}) OR {rnd("u", 10, 100)} < 85 THEN {rnd("u", 11, orgs)} + 1 END,
       CASE WHEN u > 1 AND (u IN ({h}, {lt}) OR {rnd("u", 12, 100)} < 30) THEN {rnd("u", 13, "u - 1")} + 1 END,
       CASE WHEN u % 10 = 1 THEN 'admin' ELSE 'customer' END,
       lower({first} || '.' || {last} || u || '@' || {pick(DOMAINS, "u", 14)}),
       {first}, {last}, {first} || ' ' || left({last}, 1) || '.',
       CASE WHEN {rnd("u", 15, 100)} < 80 THEN '+1-' || (200 + {rnd("u", 16, 800)}) || '-555-'
            || lpad({rnd("u", 17, 10000)}::text, 4, '0') END,
       CASE WHEN {rnd("u", 18, 100)} < 90 THEN date '1950-01-01' + {rnd("u", 19, 20000)}::int END,
       '$2b$12$' || md5('pw' || u) || substr(md5('salt' || u), 1, 21),
       CASE WHEN {rnd("u", 20, 100)} < 40 THEN md5('tok' || u) || md5('en' || u) END,
       CASE WHEN {rnd("u", 21, 100)} < 10 THEN 'Call ' || {first} || ' before delivery: prefers '
            || {pick(["phone", "email", "sms"], "u", 22)} END,
       CASE WHEN {rnd("u", 23, 100)} < 3 THEN 'Requested deletion by email' END,
       CASE WHEN {rnd("u", 24, 100)} < 85 THEN (1 + {rnd("u", 25, 223)}) || '.' || {rnd("u", 26, 256)} || '.'
            || {rnd("u", 27, 256)} || '.' || (1 + {rnd("u", 28, 254)}) END,
       u IN ({h}, {lt}) OR {rnd("u", 29, 100)} < 94,
       {moment(f"u::float / {n} * 0.9", "u", 30)}
FROM generate_series(1, {n}) AS u""",
        )
    )
    out.append(
        (
            "organization owners",
            """UPDATE organizations o SET owner_id = m.owner
FROM (SELECT organization_id, min(id) AS owner FROM users WHERE organization_id IS NOT NULL GROUP BY 1) m
WHERE o.id = m.organization_id""",
        )
    )
    address_user = (
        f"CASE WHEN a <= {n} THEN a WHEN a > {extra_addr0} THEN {h} ELSE {rand_user('a', 31, s)} END"
    )
    out.append(
        (
            "addresses",
            f"""INSERT INTO addresses (id, user_id, line1, line2, city, postal_code, country, created_at)
SELECT a, {address_user},
       (1 + {rnd("a", 32, 9999)}) || ' ' || {pick(STREETS, "a", 33)} || ' ' || {pick(SUFFIXES, "a", 34)},
       CASE WHEN {rnd("a", 35, 100)} < 20 THEN 'Apt ' || (1 + {rnd("a", 36, 400)}) END,
       {pick(CITIES, "a", 37)}, lpad({rnd("a", 38, 100000)}::text, 5, '0'), {pick(COUNTRIES, "a", 39)},
       {moment(f"least(a, {n})::float / {n} * 0.9", "a", 40)}
FROM generate_series(1, {extra_addr0 + s.heavy_addresses - 1}) AS a""",
        )
    )
    out.append(
        (
            "products",
            f"""INSERT INTO products (id, sku, name, description, price, active, created_at)
SELECT p, 'SKU-' || lpad(p::text, 7, '0'), {pick(ADJECTIVES, "p", 41)} || ' ' || {pick(NOUNS, "p", 42)} || ' ' || p,
       'A ' || lower({pick(ADJECTIVES, "p", 41)}) || ' ' || lower({pick(NOUNS, "p", 42)}) || ' for home and office.',
       1 + {rnd("p", 43, 20000)} / 100.0, {rnd("p", 44, 100)} < 90, {moment(f"p::float / {products} * 0.5", "p", 45)}
FROM generate_series(1, {products}) AS p""",
        )
    )
    out.append(
        (
            "feature_flags",
            f"""INSERT INTO feature_flags (id, key, description)
SELECT f, 'flag_' || f || '_' || lower({pick(NOUNS, "f", 46)}), 'Experiment ' || f || ' on the '
       || lower({pick(NOUNS, "f", 46)}) || ' page'
FROM generate_series(1, {flags}) AS f""",
        )
    )
    # Heavy orders sit where floor(o * heavy / total) steps: spread evenly over the table (and over time), as
    # in production; the light user's orders sit just before every (heavy/light)-th heavy one.
    is_heavy = f"(o * {heavy}::bigint / {total}) <> ((o - 1) * {heavy}::bigint / {total})"
    is_light = f"((o + 1) * {light}::bigint / {total}) <> (o * {light}::bigint / {total})"
    heavy_billing = f"CASE WHEN {rnd('o', 50, 3)} = 0 THEN {h} ELSE {extra_addr0} + {rnd('o', 51, s.heavy_addresses - 1)} END"
    gift = rand_user("o", 53, s)  # another user's primary address (id = user id)
    out.append(
        (
            "orders",
            f"""INSERT INTO orders (id, user_id, billing_address_id, shipping_address_id, status, total, notes, placed_at)
SELECT o, x.uid, x.billing,
       CASE WHEN {rnd("o", 52, 100)} < 10 THEN NULL WHEN {rnd("o", 54, 100)} < 3 THEN {gift} ELSE x.billing END,
       CASE WHEN {rnd("o", 55, 100)} < 5 THEN 'pending' WHEN {rnd("o", 55, 100)} < 10 THEN 'cancelled'
            WHEN {rnd("o", 55, 100)} < 15 THEN 'refunded' WHEN {rnd("o", 55, 100)} < 35 THEN 'paid'
            WHEN {rnd("o", 55, 100)} < 55 THEN 'shipped' ELSE 'delivered' END,
       5 + {rnd("o", 56, 50000)} / 100.0,
       CASE WHEN {rnd("o", 57, 100)} < 5 THEN 'Leave it with ' || {pick(FIRST, "o", 58)} || ' next door' END,
       {moment(f"o::float / {total}", "o", 59)}
FROM generate_series(1, {total}) AS o
CROSS JOIN LATERAL (
    SELECT CASE WHEN {is_heavy} THEN {h} WHEN {is_light} THEN {lt} ELSE {rand_user("o", 60, s)} END AS uid
) u
CROSS JOIN LATERAL (
    SELECT u.uid, CASE WHEN u.uid = {h} THEN {heavy_billing} ELSE u.uid END AS billing
) x""",
        )
    )
    out.append(
        (
            "order_items",
            f"""INSERT INTO order_items (order_id, product_id, quantity, unit_price)
SELECT o.id, p.pid, 1 + {rnd("o.id * 8 + g", 61, 3)}, 1 + {rnd("p.pid", 43, 20000)} / 100.0
FROM orders o
CROSS JOIN LATERAL generate_series(1, CASE WHEN o.user_id IN ({h}, {lt}) THEN {s.items_per_heavy_order}
                                           ELSE 3 + ({rnd("o.id", 62, 3)} = 0)::int END) AS g
CROSS JOIN LATERAL (SELECT {rnd("o.id * 8 + g", 63, products)} + 1 AS pid) p""",
        )
    )
    method = pick(
        ["card", "card", "card", "card", "card", "paypal", "paypal", "transfer"], "o.id * 4 + g", 64
    )
    out.append(
        (
            "payments",
            f"""INSERT INTO payments (order_id, amount, method, card_last4, provider_ref, paid_at)
SELECT o.id, round(o.total / c.n, 2), m.method,
       CASE WHEN m.method = 'card' THEN lpad({rnd("o.id * 4 + g", 65, 10000)}::text, 4, '0') END,
       CASE m.method WHEN 'card' THEN 'ch_' || substr(md5('pay' || o.id || g), 1, 24)
                     WHEN 'paypal' THEN 'PAYID-' || upper(substr(md5('pp' || o.id || g), 1, 20))
                     ELSE 'TRF-' || lpad({rnd("o.id * 4 + g", 66, 1000000000000)}::text, 12, '0') END,
       CASE WHEN o.status <> 'pending' THEN o.placed_at + {rnd("o.id", 67, 90)} * interval '1 minute' END
FROM orders o
CROSS JOIN LATERAL (SELECT CASE WHEN o.status = 'cancelled' THEN 0
                                WHEN o.status = 'pending' THEN ({rnd("o.id", 68, 10)} < 3)::int
                                WHEN {rnd("o.id", 69, 10)} = 0 THEN 2 ELSE 1 END AS n) c
CROSS JOIN LATERAL generate_series(1, c.n) AS g
CROSS JOIN LATERAL (SELECT {method} AS method) m""",
        )
    )
    flag_count = f"CASE WHEN u = {h} THEN 6 WHEN u = {lt} THEN 2 ELSE {rnd('u', 70, 4)} END"
    out.append(
        (
            "user_feature_flags",
            f"""INSERT INTO user_feature_flags (user_id, flag_id, enabled, updated_at)
SELECT u, ({rnd("u", 71, flags)} + 7 * g) % {flags} + 1, {rnd("u * 8 + g", 72, 10)} < 7,
       {moment(f"u::float / {n} * 0.9 + 0.05", "u * 8 + g", 73)}
FROM generate_series(1, {n}) AS u CROSS JOIN LATERAL generate_series(0, {flag_count} - 1) AS g""",
        )
    )
    ticket_user = (
        f"CASE WHEN t <= {s.tickets} THEN {rand_user('t', 74, s)}"
        f" WHEN t <= {s.tickets + s.heavy_tickets} THEN {h} ELSE {lt} END"
    )
    subject = pick(
        [
            "Charged twice for order #",
            "Wrong item in order #",
            "Invoice needed for order #",
            "Cannot log in since ticket #",
            "Please update my address, ref #",
            "Delete my account, ref #",
        ],
        "t.t",
        75,
    )
    out.append(
        (
            "support_tickets",
            f"""INSERT INTO support_tickets (id, user_id, assignee_id, subject, body, status, created_at)
SELECT t.t, us.id, CASE WHEN {rnd("t.t", 76, 100)} < 75 THEN 10 * {rnd("t.t", 77, n // 10)} + 1 END,
       {subject} || (1000 + {rnd("t.t", 78, 9000)}),
       {_sentence("t.t", 79, 8)} || '. You can reach me at ' || us.email
           || coalesce(' or ' || us.phone, '') || '.',
       {pick(["open", "pending", "solved", "closed"], "t.t", 80)},
       {moment(f"t.t::float / {s.tickets + s.heavy_tickets + 1}", "t.t", 81)}
FROM (SELECT t, {ticket_user} AS uid FROM generate_series(1, {s.tickets + s.heavy_tickets + 1}) AS t) t
JOIN users us ON us.id = t.uid
ORDER BY t.t""",
        )
    )
    actor = (
        f"CASE WHEN a <= {s.audit} THEN CASE WHEN {rnd('a', 82, 100)} < 95 THEN {rand_user('a', 83, s)} END"
        f" WHEN a <= {s.audit + s.heavy_audit} THEN {h} ELSE {lt} END"
    )
    action = pick(["login", "login", "update_profile", "password_reset", "checkout", "checkout"], "x.a", 84)
    sku = f"'SKU-' || lpad(({rnd('x.a', 85, products)} + 1)::text, 7, '0')"
    out.append(
        (
            "audit_log",
            f"""INSERT INTO audit_log (id, actor_id, reviewer_id, action, payload, created_at)
SELECT x.a, x.actor, CASE WHEN {rnd("x.a", 86, 100)} < 10 THEN 10 * {rnd("x.a", 87, n // 10)} + 1 END,
       CASE WHEN x.actor IS NULL THEN 'nightly_export' ELSE {action} END,
       CASE WHEN x.actor IS NULL THEN json_build_object('rows', 1000 + {rnd("x.a", 88, 90000)})
            WHEN {action} = 'checkout' THEN json_build_object('email', us.email, 'ip', us.last_login_ip,
                 'items', json_build_array(json_build_object('sku', {sku}, 'note', {_sentence("x.a", 89, 4)})))
            WHEN {action} = 'update_profile' THEN json_build_object('email', us.email, 'ip', us.last_login_ip,
                 'changes', json_build_object('phone', us.phone, 'name', us.first_name))
            ELSE json_build_object('email', us.email, 'ip', us.last_login_ip,
                 'user_agent', 'Mozilla/5.0 (X11; Linux x86_64) Firefox/' || (100 + {rnd("x.a", 90, 30)})) END,
       {moment(f"x.a::float / {s.audit + s.heavy_audit + s.light_audit}", "x.a", 91)}
FROM (SELECT a, {actor} AS actor FROM generate_series(1, {s.audit + s.heavy_audit + s.light_audit}) AS a) x
LEFT JOIN users us ON us.id = x.actor
ORDER BY x.a""",
        )
    )
    return out


def sequence_statements(md: sa.MetaData) -> list[str]:
    """Move every serial sequence past the explicit ids the load wrote."""
    out = []
    for table in md.sorted_tables:
        col = table.autoincrement_column
        if col is not None:
            out.append(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', '{col.name}'), "
                f"coalesce((SELECT max({col.name}) FROM {table.name}), 0) + 1, false)"
            )
    return out
