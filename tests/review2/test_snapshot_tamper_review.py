"""Tampering that a recomputed manifest.sha256 used to hide, and a file slipped into data/."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from repro.cli.main import cli
from repro.errors import SnapshotIntegrityError
from repro.masking.batch import sealed_from_snapshot
from repro.snapshots.format import SnapshotWriter
from repro.snapshots.manifest import Manifest, SnapshotMeta, digest_line
from repro.snapshots.restore import open_snapshot
from repro.snapshots.store import LocalStore

META = SnapshotMeta(
    root_table="users", root_key="id", root_value="42", incident="INC-7", source_dialect="sqlite",
    schema_fingerprint="f" * 64, rules_hash="r" * 64, salt_fingerprint="s" * 16, created_by="tester",
)  # fmt: skip


def write_demo(store: LocalStore) -> Manifest:
    """users 42 and two of its orders."""
    writer = SnapshotWriter(store, META)
    writer.add_table("users", [("id", sa.Integer())], primary_key=["id"])
    writer.add_table("orders", [("id", sa.Integer()), ("user_id", sa.Integer())], primary_key=["id"])
    writer.write(sealed_from_snapshot("users", ["id"], [(42,)]))
    writer.write(sealed_from_snapshot("orders", ["id", "user_id"], [(1, 42), (2, 42)]))
    return writer.commit()


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "store")


def rewrite_manifest(store: LocalStore, manifest: Manifest, edit: Callable[[dict[str, Any]], None]) -> None:
    """Edit manifest.json and write a matching manifest.sha256, as someone covering their tracks would."""
    key = f"snapshots/{manifest.id}/manifest.json"
    raw = json.loads(store.get_bytes(key))
    edit(raw)
    body = (json.dumps(raw, indent=2) + "\n").encode("utf-8")
    store.put_bytes(key, body)
    store.put_bytes(f"snapshots/{manifest.id}/manifest.sha256", digest_line(body))


def test_file_added_to_data_is_detected(store: LocalStore) -> None:
    manifest = write_demo(store)
    store.put_bytes(f"snapshots/{manifest.id}/data/admins.jsonl.gz", b"\x1f\x8b")
    with pytest.raises(SnapshotIntegrityError) as err:
        open_snapshot(store, manifest.id).verify()
    assert str(err.value) == f"snapshot {manifest.id}: data/admins.jsonl.gz is not listed in the manifest"


def test_table_renamed_in_manifest_with_matching_digest(store: LocalStore) -> None:
    manifest = write_demo(store)
    rewrite_manifest(store, manifest, lambda raw: raw["tables"][1].update(name="archived_orders"))
    with pytest.raises(SnapshotIntegrityError) as err:
        open_snapshot(store, manifest.id).verify()
    assert str(err.value) == (
        f"snapshot {manifest.id}: manifest.json gives table 'archived_orders' the file data/orders.jsonl.gz"
        " (renamed in the manifest?)"
    )


def test_table_listed_twice_with_matching_digest(store: LocalStore) -> None:
    manifest = write_demo(store)
    rewrite_manifest(store, manifest, lambda raw: raw["tables"].append({**raw["tables"][0], "name": "users"}))
    with pytest.raises(SnapshotIntegrityError) as err:
        open_snapshot(store, manifest.id).verify()
    assert str(err.value) == f"snapshot {manifest.id}: manifest.json lists data/users.jsonl.gz more than once"


def test_root_changed_in_manifest_with_matching_digest(store: LocalStore) -> None:
    manifest = write_demo(store)
    rewrite_manifest(store, manifest, lambda raw: raw["root"].update(value="43"))
    with pytest.raises(SnapshotIntegrityError) as err:
        open_snapshot(store, manifest.id).verify()
    assert str(err.value) == (
        f"snapshot {manifest.id}: manifest.json names root users 43, which does not fit the id"
    )


def test_cli_verify_names_the_extra_file(
    store: LocalStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = write_demo(store)
    store.put_bytes(f"snapshots/{manifest.id}/data/extra.jsonl.gz", b"x")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "repro.yaml").write_text(f"snapshots:\n  store: {store.root}\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["snapshot", "verify", manifest.id])
    assert result.exit_code == 1
    assert (
        result.output == f"Error: snapshot {manifest.id}: data/extra.jsonl.gz is not listed in the manifest\n"
    )
