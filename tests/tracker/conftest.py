"""Tracker fixtures: settings on a fresh tracker database (SQLite, or SQLite and Postgres) and a local store."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from repro.config import Settings, SnapshotSettings, TrackerSettings

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    """A fixed moment, `minutes` after T0: tests construct every timestamp explicitly."""
    return T0 + timedelta(minutes=minutes)


def make_settings(tmp_path: Path, url: str) -> Settings:
    return Settings(
        base_dir=tmp_path,
        tracker=TrackerSettings(url=url),
        snapshots=SnapshotSettings(store=str(tmp_path / "store")),
    )


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """A SQLite tracker in a folder that does not exist yet (the tracker creates it)."""
    return make_settings(tmp_path, f"sqlite:///{tmp_path / 'nested' / '.repro' / 'repro.db'}")


@pytest.fixture(params=["sqlite", "postgresql"])
def backend_settings(
    request: pytest.FixtureRequest, new_database: Callable[..., str], tmp_path: Path
) -> Settings:
    """The same test on a SQLite file and on a real PostgreSQL database."""
    return make_settings(tmp_path, new_database(str(request.param), "tracker"))
