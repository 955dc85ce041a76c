"""Seeded generation of every demo row: users, organizations, addresses and products here, activity in
activity.py.

Deterministic for a seed: one seeded Faker and one seeded Random travel together through the generators;
nothing is seeded at module level. Ids are explicit (1..n) so tests and docs can name user 7.
"""

from __future__ import annotations

import random
import re
from datetime import date, timedelta
from decimal import Decimal

from faker import Faker

from repro.demo.activity import _audit_log, _orders, _tickets, _user_flags
from repro.demo.schema import _END, _START, MIN_USERS, SHOWCASE_USER, Row, Rows
from repro.demo.seeded import _BCRYPT, _FLAGS, _PRODUCT_NOUNS, _Seeded
from repro.errors import UsageError


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
