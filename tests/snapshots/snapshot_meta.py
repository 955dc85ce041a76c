"""A SnapshotMeta for tests (importable as `snapshot_meta`)."""

from __future__ import annotations

from repro.snapshots.manifest import SnapshotMeta


def make_meta(incident: str | None = "INC-7", root_value: str = "42") -> SnapshotMeta:
    return SnapshotMeta(
        root_table="users",
        root_key="id",
        root_value=root_value,
        incident=incident,
        source_dialect="sqlite",
        schema_fingerprint="f" * 64,
        rules_hash="r" * 64,
        salt_fingerprint="s" * 16,
        created_by="tester",
    )
