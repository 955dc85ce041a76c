"""Helpers for the adversarial review tests: small schemas on real databases, rules from text, raw reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa

from repro.config import Settings, SnapshotSettings, TrackerSettings


def run_sql(url: str, *statements: str) -> None:
    """Run statements in one transaction (plain SQL that every dialect understands)."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)
    engine.dispose()


def create(url: str, metadata: sa.MetaData) -> None:
    engine = sa.create_engine(url)
    metadata.create_all(engine)
    engine.dispose()


def fetch(url: str, sql: str) -> list[tuple[Any, ...]]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.exec_driver_sql(sql)]
    engine.dispose()
    return rows


def write_rules(tmp_path: Path, text: str, name: str = "rules") -> Path:
    folder = tmp_path / name
    folder.mkdir(exist_ok=True)
    (folder / "rules.yaml").write_text(text)
    return folder


def settings_for(source: str, target: str, tmp_path: Path, rules: Path) -> Settings:
    return Settings(
        source_url=source,
        target_url=target,
        rules_dir=rules,
        snapshots=SnapshotSettings(store=str(tmp_path / "snapshots")),
        tracker=TrackerSettings(url=f"sqlite:///{tmp_path / 'tracker.db'}"),
    )
