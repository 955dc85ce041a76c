"""list (complete snapshots only, by incident), delete, prune by age; interrupted writes are never listed."""

from __future__ import annotations

import multiprocessing
import os
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from snapshot_meta import make_meta
from test_format import NOW, write_demo

from repro.config import SnapshotSettings
from repro.errors import NotFoundError, UsageError
from repro.masking.batch import sealed_from_snapshot
from repro.snapshots.catalog import delete_snapshot, list_snapshots, parse_age, prune_snapshots
from repro.snapshots.format import SnapshotWriter
from repro.snapshots.store import LocalStore, S3Store, Store, open_store


def test_list_filters_by_incident(store: Store) -> None:
    a = write_demo(store, incident="INC-7")
    b = write_demo(store, incident=None, now=NOW + timedelta(seconds=1))
    c = write_demo(store, incident="INC-8", now=NOW + timedelta(seconds=2))
    assert [s.id for s in list_snapshots(store)] == [a.id, b.id, c.id]
    (only,) = list_snapshots(store, incident="inc-7")
    assert only.id == a.id
    assert only.root == "users.id=42" and only.rows == 8 and only.tables == 2 and only.incident == "INC-7"
    assert only.to_dict()["created_at"] == "2026-11-27T14:12:03Z"
    assert list_snapshots(store, incident="INC-9") == []


def test_unreadable_manifest_is_listed_with_a_problem(store: Store) -> None:
    a = write_demo(store)
    store.put_bytes(f"snapshots/{a.id}/manifest.json", b"[]")
    (summary,) = list_snapshots(store)
    assert summary.problem is not None and "not a valid snapshot manifest" in summary.problem


def test_delete(store: Store) -> None:
    a = write_demo(store)
    b = write_demo(store, now=NOW + timedelta(seconds=1))
    delete_snapshot(store, a.id)
    assert [s.id for s in list_snapshots(store)] == [b.id]
    assert store.list_keys(f"snapshots/{a.id}/") == []
    with pytest.raises(NotFoundError, match=f"snapshot '{a.id}' does not exist in "):
        delete_snapshot(store, a.id)


def test_prune_by_age(store: Store) -> None:
    old = write_demo(store, now=NOW - timedelta(days=31))
    recent = write_demo(store, now=NOW - timedelta(days=29))
    dry = prune_snapshots(store, timedelta(days=30), now=NOW, dry_run=True)
    assert dry.deleted == [old.id] and dry.kept == 1
    assert len(list_snapshots(store)) == 2  # a dry run deletes nothing
    result = prune_snapshots(store, parse_age("30d"), now=NOW)
    assert result.deleted == [old.id]
    assert [s.id for s in list_snapshots(store)] == [recent.id]
    assert store.list_keys(f"snapshots/{old.id}/") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("36h", timedelta(hours=36)),
        ("30d", timedelta(days=30)),
        ("2w", timedelta(days=14)),
        (" 1D ", timedelta(1)),
    ],
)
def test_parse_age(text: str, expected: timedelta) -> None:
    assert parse_age(text) == expected


@pytest.mark.parametrize("text", ["30", "d", "0d", "-1d", "3m", "1.5d"])
def test_parse_age_refuses(text: str) -> None:
    with pytest.raises(
        UsageError, match=r"^--older-than: expected a positive number with h, d or w \(e\.g\. 30d\)"
    ):
        parse_age(text)


class _BlockingS3Store(S3Store):
    """Signals and hangs just before the manifest upload: the moment a kill hurts most."""

    def __init__(self, event: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.event = event

    def put_file(self, key: str, path: Path) -> None:
        if key.endswith("/manifest.json"):
            self.event.set()
            signal.pause()
        super().put_file(key, path)


def _write_until_killed(settings: SnapshotSettings, phase: str, event: Any) -> None:
    store: Store
    if phase == "publish":
        bucket, _, prefix = settings.store[len("s3://") :].partition("/")
        store = _BlockingS3Store(event, bucket=bucket, prefix=prefix, endpoint_url=settings.endpoint_url)
    else:
        store = open_store(settings)
    writer = SnapshotWriter(store, make_meta())
    writer.add_table("events", [("id", sa.Integer()), ("body", sa.Text())])
    for start in range(0, 3000, 500):
        writer.write(
            sealed_from_snapshot("events", ["id", "body"], [(i, "x" * 50) for i in range(start, start + 500)])
        )
    if phase == "write":
        event.set()  # mid-write: data partly written, nothing committed
        signal.pause()
    writer.commit()


@pytest.mark.parametrize(("kind", "phase"), [("local", "write"), ("s3", "write"), ("s3", "publish")])
def test_killed_writer_leaves_no_listed_snapshot(
    kind: str, phase: str, request: pytest.FixtureRequest
) -> None:
    settings: SnapshotSettings = request.getfixturevalue(
        "local_settings" if kind == "local" else "s3_settings"
    )
    ctx = multiprocessing.get_context("fork")
    event = ctx.Event()
    proc = ctx.Process(target=_write_until_killed, args=(settings, phase, event))
    proc.start()
    try:
        assert event.wait(60), "the writer never reached the kill point"
        assert proc.pid is not None
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.join(30)
    assert proc.exitcode == -signal.SIGKILL
    store = open_store(settings)
    assert list_snapshots(store) == []
    if phase == "publish":
        # Data files reached S3 before the manifest: present, unlisted, and removed by prune.
        assert any(k.endswith("data/events.jsonl.gz") for k in store.list_keys("snapshots/"))
    if isinstance(store, LocalStore):
        assert len(store.stale_staging_dirs()) == 1
    result = prune_snapshots(store, timedelta(hours=1), now=datetime.now(UTC) + timedelta(days=1))
    assert result.deleted == []
    assert store.list_keys("snapshots/") == []
    if isinstance(store, LocalStore):
        assert store.stale_staging_dirs() == []
    if phase == "publish":
        assert len(result.leftovers) == 1
