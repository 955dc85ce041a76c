"""Tampering is detected: a changed byte, a missing file, an edited manifest, a missing digest."""

from __future__ import annotations

import json

import pytest
from test_format import write_demo

from repro.errors import NotFoundError, SnapshotIntegrityError
from repro.snapshots.restore import open_snapshot
from repro.snapshots.store import Store


def _flip_byte(store: Store, key: str, offset: int) -> None:
    data = bytearray(store.get_bytes(key))
    data[offset] ^= 0x01
    store.put_bytes(key, bytes(data))


def test_intact_snapshot_verifies(store: Store) -> None:
    manifest = write_demo(store)
    open_snapshot(store, manifest.id).verify()


def test_changed_byte_in_a_data_file(store: Store) -> None:
    manifest = write_demo(store)
    _flip_byte(store, f"snapshots/{manifest.id}/data/orders.jsonl.gz", 20)
    reader = open_snapshot(store, manifest.id)
    with pytest.raises(SnapshotIntegrityError) as err:
        reader.verify()
    assert str(err.value) == (
        f"snapshot {manifest.id}: data/orders.jsonl.gz was modified (sha256 differs from the manifest)"
    )


def test_changed_byte_is_also_caught_while_streaming(store: Store) -> None:
    manifest = write_demo(store)
    reader = open_snapshot(store, manifest.id)
    reader.verify()
    # The file changes after verify(): iter_batches hashes as it reads and refuses at the end.
    key = f"snapshots/{manifest.id}/data/orders.jsonl.gz"
    data = store.get_bytes(key)
    store.put_bytes(key, data + b"\x00")
    with pytest.raises(SnapshotIntegrityError, match=r"data/orders\.jsonl\.gz"):
        list(reader.iter_batches("orders", 100))


def test_missing_data_file(store: Store) -> None:
    manifest = write_demo(store)
    store.delete_prefix(f"snapshots/{manifest.id}/data/users.jsonl.gz")
    with pytest.raises(SnapshotIntegrityError) as err:
        open_snapshot(store, manifest.id).verify()
    assert str(err.value) == f"snapshot {manifest.id}: data/users.jsonl.gz is missing"


def test_edited_manifest(store: Store) -> None:
    manifest = write_demo(store)
    key = f"snapshots/{manifest.id}/manifest.json"
    raw = json.loads(store.get_bytes(key))
    raw["tables"][1]["rows"] = 6  # someone "fixes" a count, or hides a row
    store.put_bytes(key, json.dumps(raw, indent=2).encode())
    with pytest.raises(SnapshotIntegrityError) as err:
        open_snapshot(store, manifest.id).verify()
    assert str(err.value) == (
        f"snapshot {manifest.id}: manifest.json was modified (its sha256 differs from manifest.sha256)"
    )


def test_edited_manifest_with_recomputed_data_checksum_is_still_caught(store: Store) -> None:
    manifest = write_demo(store)
    key = f"snapshots/{manifest.id}/manifest.json"
    raw = json.loads(store.get_bytes(key))
    raw["incident"] = "INC-8"
    store.put_bytes(key, json.dumps(raw, indent=2).encode())
    with pytest.raises(SnapshotIntegrityError, match=r"manifest\.json was modified"):
        open_snapshot(store, manifest.id).verify()


def test_missing_digest(store: Store) -> None:
    manifest = write_demo(store)
    store.delete_prefix(f"snapshots/{manifest.id}/manifest.sha256")
    with pytest.raises(SnapshotIntegrityError, match=r"manifest\.sha256 is missing$"):
        open_snapshot(store, manifest.id).verify()


def test_broken_manifest_json(store: Store) -> None:
    manifest = write_demo(store)
    store.put_bytes(f"snapshots/{manifest.id}/manifest.json", b"{not json")
    with pytest.raises(SnapshotIntegrityError, match=r"manifest\.json: not a valid snapshot manifest"):
        open_snapshot(store, manifest.id)


def test_manifest_missing_a_key(store: Store) -> None:
    manifest = write_demo(store)
    key = f"snapshots/{manifest.id}/manifest.json"
    raw = json.loads(store.get_bytes(key))
    del raw["root"]
    store.put_bytes(key, json.dumps(raw).encode())
    with pytest.raises(SnapshotIntegrityError, match=r"not a valid snapshot manifest \(missing key 'root'\)"):
        open_snapshot(store, manifest.id)


def test_data_path_escaping_the_snapshot_is_refused(store: Store) -> None:
    manifest = write_demo(store)
    key = f"snapshots/{manifest.id}/manifest.json"
    raw = json.loads(store.get_bytes(key))
    raw["tables"][0]["file"] = "../other/data/users.jsonl.gz"
    store.put_bytes(key, json.dumps(raw).encode())
    with pytest.raises(SnapshotIntegrityError, match="leaves the snapshot folder"):
        open_snapshot(store, manifest.id)


def test_unknown_and_invalid_ids(store: Store) -> None:
    with pytest.raises(NotFoundError, match="snapshot '20260101T000000Z-users-1-abcdef' does not exist in "):
        open_snapshot(store, "20260101T000000Z-users-1-abcdef")
    with pytest.raises(NotFoundError, match=r"snapshot '\.\./\.\./etc' does not exist"):
        open_snapshot(store, "../../etc")
