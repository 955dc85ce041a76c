"""The demo schema (docs/demo-schema.md) and the constants every part of the demo shares."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

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
