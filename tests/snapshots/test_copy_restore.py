"""End to end: copy-user writes a snapshot; restoring it onto a fresh staging database gives the same rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dbtools import demo_settings, dump_database

from repro.copy import copy_user
from repro.db import create_engine
from repro.ddl import create_missing_tables
from repro.demo import build_demo_database
from repro.schema import reflect
from repro.snapshots.restore import open_snapshot, restore_snapshot
from repro.snapshots.store import open_store


def test_restore_gives_exactly_the_rows_copy_user_wrote(
    dialect: str, new_database: Any, tmp_path: Path, mask_salt: str
) -> None:
    source, staging, fresh = (new_database(dialect, n) for n in ("prod", "stg", "fresh"))
    build_demo_database(source, seed=42, users=40)
    settings = demo_settings(source, staging, tmp_path)
    copied = copy_user(settings, 7, create_schema=True)
    assert copied.snapshot_id is not None
    manifest = open_snapshot(open_store(settings.snapshots), copied.snapshot_id).manifest
    assert manifest.root_value == "7"
    assert {t.name: t.rows for t in manifest.tables if t.rows} == {t: n for t, n in copied.rows.items() if n}
    # A fresh staging database with the application's schema, as copy-user --create-schema would make it.
    source_engine, fresh_engine = create_engine(source), create_engine(fresh)
    create_missing_tables(fresh_engine, reflect(source_engine), [t.name for t in manifest.tables])
    source_engine.dispose()
    fresh_engine.dispose()
    restored = restore_snapshot(settings, copied.snapshot_id, fresh)
    assert restored.rows == copied.rows
    expected = {t: rows for t, rows in dump_database(staging).items() if rows}
    assert {t: rows for t, rows in dump_database(fresh).items() if rows} == expected
    # Idempotent: a second restore changes nothing.
    restore_snapshot(settings, copied.snapshot_id, fresh)
    assert {t: rows for t, rows in dump_database(fresh).items() if rows} == expected
