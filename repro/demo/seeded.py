"""The seeded source of randomness of one demo build, and the fixed vocabulary the generators draw from."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from faker import Faker

from repro.demo.schema import _END


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
