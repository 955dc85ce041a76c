"""Seeded generation of what demo users did: orders, order items, payments, feature flags, tickets, audit log."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from repro.demo.schema import _START, SHOWCASE_USER, Row, Rows
from repro.demo.seeded import _ALNUM, _FLAGS, _PAID, _Seeded


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
