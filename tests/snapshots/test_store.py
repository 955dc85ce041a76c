"""LocalStore and S3Store (moto server over HTTP) behave the same; S3 honours endpoint and encryption."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from repro.config import SnapshotSettings
from repro.errors import ConfigError, NotFoundError, SnapshotError
from repro.snapshots.store import LocalStore, S3Store, Store, open_store


def test_put_get_exists_list_delete(store: Store) -> None:
    store.put_bytes("snapshots/a/manifest.json", b"{}")
    store.put_bytes("snapshots/a/data/t.jsonl.gz", b"\x00\x01")
    store.put_bytes("snapshots/ab/manifest.json", b"x")
    store.put_bytes("attachments/INC-1/screen.png", b"png")
    assert store.get_bytes("snapshots/a/data/t.jsonl.gz") == b"\x00\x01"
    assert store.exists("snapshots/a/manifest.json")
    assert not store.exists("snapshots/a/nothing")
    assert store.list_keys("snapshots/a/") == ["snapshots/a/data/t.jsonl.gz", "snapshots/a/manifest.json"]
    assert store.list_keys("attachments/") == ["attachments/INC-1/screen.png"]
    assert len(store.list_keys("")) == 4
    store.delete_prefix("snapshots/a/")
    assert store.list_keys("snapshots/") == ["snapshots/ab/manifest.json"]
    with store.open_read("attachments/INC-1/screen.png") as fh:
        assert fh.read() == b"png"


def test_missing_key_is_not_found(store: Store) -> None:
    with pytest.raises(NotFoundError, match=r"snapshots/x/manifest\.json does not exist in "):
        store.get_bytes("snapshots/x/manifest.json")
    with pytest.raises(NotFoundError):
        store.open_read("snapshots/x/manifest.json")


@pytest.mark.parametrize("key", ["", "/abs", "a/../b", "a/./b", "dir/"])
def test_invalid_keys_are_refused(store: Store, key: str) -> None:
    with pytest.raises(SnapshotError, match="invalid store key"):
        store.put_bytes(key, b"x")


def test_empty_prefix_delete_is_refused(store: Store) -> None:
    store.put_bytes("attachments/INC-1/a", b"x")
    with pytest.raises(SnapshotError, match="refusing to delete the whole store"):
        store.delete_prefix("")
    assert store.exists("attachments/INC-1/a")


def test_publish_dir_puts_every_file_under_the_prefix(store: Store) -> None:
    staged = store.new_staging_dir()
    (staged / "data").mkdir()
    (staged / "data" / "t.jsonl.gz").write_bytes(b"rows")
    (staged / "manifest.json").write_bytes(b"{}")
    store.publish_dir(staged, "snapshots/s1/", "manifest.json")
    assert store.list_keys("snapshots/s1/") == ["snapshots/s1/data/t.jsonl.gz", "snapshots/s1/manifest.json"]
    assert not staged.exists()


def test_publish_dir_without_the_last_file_is_refused(store: Store) -> None:
    staged = store.new_staging_dir()
    (staged / "a").write_bytes(b"1")
    with pytest.raises(SnapshotError, match=r"lacks manifest\.json"):
        store.publish_dir(staged, "snapshots/s1/", "manifest.json")
    assert store.list_keys("snapshots/") == []
    store.discard_staging(staged)
    assert not staged.exists()


def test_local_staging_is_invisible_until_published(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    staged = store.new_staging_dir()
    (staged / "manifest.json").write_bytes(b"{}")
    assert store.list_keys("") == []
    assert staged.parent == tmp_path / "store" / ".staging"  # same filesystem: publish is a rename
    store.publish_dir(staged, "snapshots/x/", "manifest.json")
    assert (tmp_path / "store" / "snapshots" / "x" / "manifest.json").is_file()


def test_local_publish_never_overwrites(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    store.put_bytes("snapshots/x/manifest.json", b"old")
    staged = store.new_staging_dir()
    (staged / "manifest.json").write_bytes(b"new")
    with pytest.raises(SnapshotError, match="already exists"):
        store.publish_dir(staged, "snapshots/x/", "manifest.json")
    assert store.get_bytes("snapshots/x/manifest.json") == b"old"


def test_open_store_picks_the_kind(tmp_path: Path, s3_settings: SnapshotSettings) -> None:
    local = open_store(SnapshotSettings(store=str(tmp_path / "f")))
    assert isinstance(local, LocalStore) and local.location == str(tmp_path / "f")
    s3 = open_store(s3_settings)
    assert isinstance(s3, S3Store)
    assert s3.location == s3_settings.store
    assert s3.prefix == "team/snaps/"


def test_s3_keys_live_under_the_prefix(s3_settings: SnapshotSettings) -> None:
    store = open_store(s3_settings)
    store.put_bytes("snapshots/a/manifest.json", b"{}")
    bucket = s3_settings.store.split("/")[2]
    client = boto3.client("s3", endpoint_url=s3_settings.endpoint_url, region_name="us-east-1")
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == ["team/snaps/snapshots/a/manifest.json"]


def test_s3_server_side_encryption_is_requested(s3_settings: SnapshotSettings, tmp_path: Path) -> None:
    from dataclasses import replace

    store = open_store(replace(s3_settings, sse="AES256"))
    store.put_bytes("snapshots/a/manifest.json", b"{}")
    path = tmp_path / "f"
    path.write_bytes(b"data")
    store.put_file("snapshots/a/data/t.jsonl.gz", path)
    bucket = s3_settings.store.split("/")[2]
    client = boto3.client("s3", endpoint_url=s3_settings.endpoint_url, region_name="us-east-1")
    for key in ("team/snaps/snapshots/a/manifest.json", "team/snaps/snapshots/a/data/t.jsonl.gz"):
        assert client.head_object(Bucket=bucket, Key=key)["ServerSideEncryption"] == "AES256"


def test_s3_missing_bucket_is_a_one_line_error(s3_settings: SnapshotSettings) -> None:
    from dataclasses import replace

    store = open_store(replace(s3_settings, store="s3://no-such-bucket-here/x"))
    with pytest.raises(
        SnapshotError, match=r"^S3 listing of s3://no-such-bucket-here/x/snapshots/ failed: NoSuchBucket"
    ):
        store.list_keys("snapshots/")


def test_s3_unreachable_endpoint_is_a_snapshot_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    store = S3Store("bucket-x", "", endpoint_url="http://127.0.0.1:9", region="us-east-1")
    store.client.meta.config.retries = {"max_attempts": 0}  # type: ignore[attr-defined]
    with pytest.raises(SnapshotError, match=r"^S3 lookup of s3://bucket-x/k failed: Could not connect"):
        store.exists("k")


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (SnapshotSettings(store="s3://"), "expected s3://bucket/prefix"),
        (SnapshotSettings(store="gs://b/p"), "expected a folder or s3://bucket/prefix"),
        (SnapshotSettings(store="s3://b/p", sse="aws:kms2"), "expected AES256 or aws:kms"),
        (SnapshotSettings(store="s3://b/p", sse_kms_key_id="k"), "needs snapshots.sse: aws:kms"),
    ],
)
def test_bad_store_settings(settings: SnapshotSettings, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        open_store(settings)
