"""SnapshotWriter + SnapshotReader on a local folder and on S3: layout, manifest, streaming, abort."""

from __future__ import annotations

import gzip
import hashlib
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from snapshot_meta import make_meta

import repro
from repro.errors import NotFoundError, SnapshotError
from repro.masking.batch import sealed_from_snapshot
from repro.schema import ForeignKey
from repro.snapshots.catalog import list_snapshots
from repro.snapshots.format import SnapshotWriter
from repro.snapshots.manifest import Manifest
from repro.snapshots.restore import open_snapshot
from repro.snapshots.store import LocalStore, Store

USERS: list[tuple[str, sa.types.TypeEngine[Any]]] = [
    ("id", sa.Integer()),
    ("email", sa.String(200)),
    ("balance", sa.Numeric(10, 2)),
]
ORDERS: list[tuple[str, sa.types.TypeEngine[Any]]] = [
    ("id", sa.Integer()),
    ("user_id", sa.Integer()),
    ("payload", sa.JSON()),
]
NOW = datetime(2026, 11, 27, 14, 12, 3, tzinfo=UTC)


def write_demo(
    store: Store, *, incident: str | None = "INC-7", now: datetime = NOW, root: str = "42"
) -> Manifest:
    writer = SnapshotWriter(store, make_meta(incident, root), now=now)
    writer.add_table("users", USERS, primary_key=["id"])
    writer.add_table(
        "orders",
        ORDERS,
        primary_key=["id"],
        foreign_keys=[ForeignKey("orders", ("user_id",), "users", ("id",), True)],
    )
    writer.write(
        sealed_from_snapshot("users", ["id", "email", "balance"], [(42, "a@example.test", Decimal("1.50"))])
    )
    rows = [(i, 42, {"n": i}) for i in range(1, 8)]
    writer.write(sealed_from_snapshot("orders", ["id", "user_id", "payload"], rows[:3]))
    # Columns may arrive in another order: they are matched by name.
    writer.write(
        sealed_from_snapshot("orders", ["payload", "id", "user_id"], [(p, i, u) for i, u, p in rows[3:]])
    )
    return writer.commit()


def test_id_and_manifest(store: Store) -> None:
    manifest = write_demo(store)
    assert manifest.id.startswith("20261127T141203Z-users-42-")
    assert len(manifest.id) == len("20261127T141203Z-users-42-") + 6
    raw = json.loads(store.get_bytes(f"snapshots/{manifest.id}/manifest.json"))
    assert raw["format"] == "repro-snapshot" and raw["format_version"] == 1
    assert raw["tool_version"] == repro.__version__
    assert raw["created_at"] == "2026-11-27T14:12:03Z"
    assert raw["created_by"] == "tester"
    assert raw["source"] == {"dialect": "sqlite", "schema_fingerprint": "f" * 64}
    assert raw["root"] == {"table": "users", "key": "id", "value": "42"}
    assert raw["incident"] == "INC-7"
    assert raw["masking"] == {"rules_hash": "r" * 64, "salt_fingerprint": "s" * 16}
    users, orders = raw["tables"]
    assert users["name"] == "users" and users["rows"] == 1 and users["primary_key"] == ["id"]
    assert [c["name"] for c in users["columns"]] == ["id", "email", "balance"]
    assert users["columns"][2]["codec"] == {"codec": "decimal"}
    assert users["columns"][2]["details"] == {"precision": 10, "scale": 2}
    assert orders["rows"] == 7
    assert orders["foreign_keys"] == [{"columns": ["user_id"], "ref_table": "users", "ref_columns": ["id"]}]
    data = store.get_bytes(f"snapshots/{manifest.id}/{orders['file']}")
    assert orders["sha256"] == hashlib.sha256(data).hexdigest() and orders["bytes"] == len(data)
    digest = store.get_bytes(f"snapshots/{manifest.id}/manifest.sha256").decode()
    body = store.get_bytes(f"snapshots/{manifest.id}/manifest.json")
    assert digest == f"{hashlib.sha256(body).hexdigest()}  manifest.json\n"


def test_data_files_are_gzip_json_lines(store: Store) -> None:
    manifest = write_demo(store)
    data = store.get_bytes(f"snapshots/{manifest.id}/data/users.jsonl.gz")
    lines = gzip.decompress(data).decode().splitlines()
    assert [json.loads(line) for line in lines] == [{"id": 42, "email": "a@example.test", "balance": "1.50"}]
    orders = gzip.decompress(store.get_bytes(f"snapshots/{manifest.id}/data/orders.jsonl.gz")).decode()
    assert json.loads(orders.splitlines()[5]) == {"id": 6, "user_id": 42, "payload": '{"n":6}'}


def test_reader_returns_sealed_batches(store: Store) -> None:
    manifest = write_demo(store)
    reader = open_snapshot(store, manifest.id)
    reader.verify()
    assert reader.manifest == manifest
    batches = list(reader.iter_batches("orders", 3))
    assert [len(b) for b in batches] == [3, 3, 1]
    assert batches[0].table == "orders" and batches[0].columns == ("id", "user_id", "payload")
    assert [r for b in batches for r in b.rows] == [(i, 42, {"n": i}) for i in range(1, 8)]
    (users,) = list(reader.iter_batches("users", 100))
    assert users.rows == [(42, "a@example.test", Decimal("1.50"))]
    with pytest.raises(NotFoundError, match="has no table 'payments'"):
        list(reader.iter_batches("payments", 10))


def test_same_rows_give_the_same_checksums(tmp_path: Path) -> None:
    a = write_demo(LocalStore(tmp_path / "a"))
    b = write_demo(LocalStore(tmp_path / "b"))
    assert [t.sha256 for t in a.tables] == [t.sha256 for t in b.tables]


def test_abort_leaves_nothing(store: Store) -> None:
    writer = SnapshotWriter(store, make_meta())
    writer.add_table("users", USERS)
    writer.write(sealed_from_snapshot("users", ["id", "email", "balance"], [(1, "x", None)]))
    writer.abort()
    assert store.list_keys("snapshots/") == []
    assert list_snapshots(store) == []
    if isinstance(store, LocalStore):
        assert list((store.root / ".staging").iterdir()) == []
    with pytest.raises(SnapshotError, match="is already aborted"):
        writer.write(sealed_from_snapshot("users", ["id", "email", "balance"], []))


def test_context_manager_aborts_on_error(store: Store) -> None:
    with pytest.raises(RuntimeError), SnapshotWriter(store, make_meta()) as writer:
        writer.add_table("users", USERS)
        raise RuntimeError("copy failed")
    assert store.list_keys("") == []


def test_a_value_that_does_not_fit_names_the_column(store: Store) -> None:
    writer = SnapshotWriter(store, make_meta())
    writer.add_table("users", USERS)
    with pytest.raises(SnapshotError, match=r"^users\.id: cannot store a str value in a int column$"):
        writer.write(sealed_from_snapshot("users", ["id", "email", "balance"], [("x", "y", None)]))
    writer.abort()


def test_writer_misuse_is_refused(store: Store) -> None:
    writer = SnapshotWriter(store, make_meta())
    writer.add_table("users", USERS)
    with pytest.raises(SnapshotError, match="table 'users' was added twice"):
        writer.add_table("users", USERS)
    with pytest.raises(SnapshotError, match="table 'orders' was not added"):
        writer.write(sealed_from_snapshot("orders", ["id"], [(1,)]))
    with pytest.raises(SnapshotError, match="batch columns of 'users' differ"):
        writer.write(sealed_from_snapshot("users", ["id", "email"], [(1, "x")]))
    with pytest.raises(SnapshotError, match="only masked batches"):
        writer.write(("users", [(1,)]))  # type: ignore[arg-type]
    manifest = writer.commit()
    assert manifest.tables[0].rows == 0
    with pytest.raises(SnapshotError, match="is already committed"):
        writer.commit()


def test_abort_after_commit_removes_the_snapshot(store: Store) -> None:
    manifest = write_demo(store)
    other = write_demo(store)
    writer = SnapshotWriter(store, make_meta())
    writer.add_table("users", USERS)
    writer.commit()
    assert len(list_snapshots(store)) == 3
    writer.abort()  # e.g. the staging commit failed after the snapshot was written
    assert [s.id for s in list_snapshots(store)] == sorted([manifest.id, other.id])
    assert store.list_keys(f"snapshots/{writer.snapshot_id}/") == []


def test_odd_table_names_get_safe_distinct_files(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "s")
    writer = SnapshotWriter(store, make_meta(root_value="a/b c"))
    writer.add_table("Order Items", [("id", sa.Integer())])
    writer.add_table("order_items", [("id", sa.Integer())])
    writer.add_table("../etc", [("id", sa.Integer())])
    manifest = writer.commit()
    assert "-users-a_b_c-" in manifest.id
    files = [t.file for t in manifest.tables]
    assert files == ["data/Order_Items.jsonl.gz", "data/order_items-2.jsonl.gz", "data/_etc.jsonl.gz"]
    open_snapshot(store, manifest.id).verify()
