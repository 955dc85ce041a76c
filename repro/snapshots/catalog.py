"""The snapshots in a store: list (only complete ones), show, delete, prune by age."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from repro.errors import NotFoundError, SnapshotIntegrityError, UsageError
from repro.snapshots.manifest import (
    MANIFEST,
    SNAPSHOTS_PREFIX,
    format_time,
    is_snapshot_id,
    manifest_key,
    snapshot_prefix,
    time_of_id,
)
from repro.snapshots.restore import open_snapshot
from repro.snapshots.store import LocalStore, Store


@dataclass(frozen=True)
class SnapshotSummary:
    id: str
    created_at: datetime | None
    created_by: str = ""
    root: str = ""
    incident: str | None = None
    tables: int = 0
    rows: int = 0
    bytes: int = 0
    problem: str | None = None  # set when the manifest cannot be read

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "created_at": format_time(self.created_at) if self.created_at else None,
            "created_by": self.created_by,
            "root": self.root,
            "incident": self.incident,
            "tables": self.tables,
            "rows": self.rows,
            "bytes": self.bytes,
            "problem": self.problem,
        }


def _ids_in_store(store: Store) -> tuple[list[str], list[str]]:
    """(ids with a manifest, ids with files but no manifest: interrupted writes)."""
    complete: set[str] = set()
    seen: set[str] = set()
    for key in store.list_keys(SNAPSHOTS_PREFIX):
        parts = key[len(SNAPSHOTS_PREFIX) :].split("/")
        if len(parts) < 2 or not is_snapshot_id(parts[0]):
            continue
        seen.add(parts[0])
        if parts[1:] == [MANIFEST]:
            complete.add(parts[0])
    return sorted(complete), sorted(seen - complete)


def summarize(store: Store, snapshot_id: str) -> SnapshotSummary:
    try:
        m = open_snapshot(store, snapshot_id).manifest
    except SnapshotIntegrityError as exc:
        return SnapshotSummary(snapshot_id, time_of_id(snapshot_id), problem=str(exc))
    return SnapshotSummary(
        id=snapshot_id,
        created_at=m.created_at,
        created_by=m.created_by,
        root=f"{m.root_table}.{m.root_key}={m.root_value}",
        incident=m.incident,
        tables=len(m.tables),
        rows=m.total_rows,
        bytes=m.total_bytes,
    )


def list_snapshots(store: Store, *, incident: str | None = None) -> list[SnapshotSummary]:
    """Complete snapshots (manifest present), oldest first; only those of `incident` if given."""
    complete, _ = _ids_in_store(store)
    summaries = [summarize(store, sid) for sid in complete]
    if incident is not None:
        summaries = [
            s for s in summaries if s.incident is not None and s.incident.lower() == incident.lower()
        ]
    return summaries


def delete_snapshot(store: Store, snapshot_id: str) -> None:
    """Remove a snapshot: its manifest first (it stops being listed at once), then its files."""
    if not is_snapshot_id(snapshot_id) or not store.list_keys(snapshot_prefix(snapshot_id)):
        raise NotFoundError(f"snapshot '{snapshot_id}' does not exist in {store.location}")
    if store.exists(manifest_key(snapshot_id)):
        store.delete_prefix(manifest_key(snapshot_id))
    store.delete_prefix(snapshot_prefix(snapshot_id))


_DURATION = re.compile(r"^\s*(\d+)\s*([hdw])\s*$", re.IGNORECASE)


def parse_age(text: str) -> timedelta:
    """`36h`, `30d`, `2w` -> timedelta."""
    match = _DURATION.match(text)
    if not match or int(match.group(1)) <= 0:
        raise UsageError(f"--older-than: expected a positive number with h, d or w (e.g. 30d), got {text!r}")
    amount, unit = int(match.group(1)), match.group(2).lower()
    return timedelta(hours=amount) if unit == "h" else timedelta(days=amount * (7 if unit == "w" else 1))


@dataclass
class PruneResult:
    cutoff: datetime
    dry_run: bool
    deleted: list[str] = field(default_factory=list)  # complete snapshots
    leftovers: list[str] = field(default_factory=list)  # interrupted writes (no manifest)
    kept: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "cutoff": format_time(self.cutoff),
            "dry_run": self.dry_run,
            "deleted": self.deleted,
            "leftovers": self.leftovers,
            "kept": self.kept,
        }


def prune_snapshots(
    store: Store, older_than: timedelta, *, now: datetime | None = None, dry_run: bool = False
) -> PruneResult:
    """Delete snapshots created before now - older_than, and leftovers of interrupted writes that old."""
    cutoff = (now or datetime.now(UTC)) - older_than
    result = PruneResult(cutoff=cutoff, dry_run=dry_run)
    complete, incomplete = _ids_in_store(store)
    for sid in complete:
        created = summarize(store, sid).created_at
        if created is not None and created < cutoff:
            result.deleted.append(sid)
        else:
            result.kept += 1
    for sid in incomplete:
        created = time_of_id(sid)
        if created is not None and created < cutoff:
            result.leftovers.append(sid)
    if dry_run:
        return result
    for sid in result.deleted + result.leftovers:
        delete_snapshot(store, sid)
    if isinstance(store, LocalStore):
        for staged in store.stale_staging_dirs():
            if datetime.fromtimestamp(staged.stat().st_mtime, UTC) < cutoff:
                store.discard_staging(staged)
    return result
