"""`repro snapshot ...` through click's CliRunner: output, JSON, and the exact `Error:` lines."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from test_format import NOW, write_demo

from repro.cli.main import cli
from repro.snapshots.manifest import Manifest
from repro.snapshots.store import LocalStore

MISSING = "20260101T000000Z-users-1-abcdef"


@pytest.fixture
def store_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "store"
    monkeypatch.setenv("REPRO_SNAPSHOT_STORE", str(path))
    return path


@pytest.fixture
def snap(store_dir: Path) -> Manifest:
    return write_demo(LocalStore(store_dir))


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_every_command_has_help_with_an_example() -> None:
    for name in ("list", "show", "verify", "restore", "delete", "prune"):
        code, out = run("snapshot", name, "--help")
        assert code == 0 and "Example:" in out and "repro snapshot " in out


def test_list_empty(store_dir: Path) -> None:
    assert run("snapshot", "list") == (0, f"no snapshots in {store_dir}\n")
    assert run("snapshot", "list", "--json") == (0, "[]\n")


def test_list_table_and_json(store_dir: Path, snap: Manifest) -> None:
    other = write_demo(LocalStore(store_dir), incident="INC-8", now=NOW + timedelta(seconds=5))
    code, out = run("snapshot", "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["id", "created", "root", "incident", "rows", "size"]
    assert lines[2].split()[:5] == [snap.id, "2026-11-27T14:12:03Z", "users.id=42", "INC-7", "8"]
    code, out = run("snapshot", "list", "--incident", "INC-8", "--json")
    assert code == 0
    assert [s["id"] for s in json.loads(out)] == [other.id]


def test_show(snap: Manifest) -> None:
    code, out = run("snapshot", "show", snap.id)
    assert code == 0
    assert f"snapshot   {snap.id}" in out and "incident   INC-7" in out and "total: 8 rows in 2 tables" in out
    code, out = run("snapshot", "show", snap.id, "--json")
    assert code == 0 and json.loads(out) == snap.to_dict()


def test_show_unknown(store_dir: Path) -> None:
    assert run("snapshot", "show", MISSING) == (
        1,
        f"Error: snapshot '{MISSING}' does not exist in {store_dir}\n",
    )


def test_verify_ok_and_tampered(store_dir: Path, snap: Manifest) -> None:
    assert run("snapshot", "verify", snap.id) == (
        0,
        f"snapshot {snap.id}: 4 files verified, all checksums match\n",
    )
    (store_dir / "snapshots" / snap.id / "data" / "users.jsonl.gz").unlink()
    assert run("snapshot", "verify", snap.id) == (
        1,
        f"Error: snapshot {snap.id}: data/users.jsonl.gz is missing\n",
    )


def test_restore_needs_a_target(snap: Manifest) -> None:
    assert run("snapshot", "restore", snap.id) == (
        2,
        "Error: no target database: set `target:` in repro.yaml, REPRO_TARGET_URL, or pass --target\n",
    )


def test_restore_refuses_a_target_without_the_tables(snap: Manifest, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'staging.db'}"
    assert run("snapshot", "restore", snap.id, "--target", url) == (
        1,
        "Error: the target database has no table users, orders"
        " (restore with --create-schema into an empty database, or migrate it)\n",
    )


def test_restore_with_create_schema(snap: Manifest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'staging.db'}"
    monkeypatch.setenv("REPRO_TARGET_URL", url)
    code, out = run("snapshot", "restore", snap.id, "--create-schema")
    assert code == 0, out
    assert "created tables: orders, users" in out
    assert out.splitlines()[-1] == f"restored 8 rows from {snap.id} into {url}"
    code, out = run("snapshot", "restore", snap.id, "--json")
    assert code == 0 and json.loads(out)["rows"] == {"users": 1, "orders": 7}
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM orders WHERE user_id = 42").scalar() == 7
        assert conn.exec_driver_sql("SELECT balance FROM users").scalar() == 1.5
    engine.dispose()


def test_delete(store_dir: Path, snap: Manifest) -> None:
    assert run("snapshot", "delete", snap.id) == (0, f"deleted snapshot {snap.id}\n")
    assert run("snapshot", "delete", snap.id) == (
        1,
        f"Error: snapshot '{snap.id}' does not exist in {store_dir}\n",
    )


def test_prune(store_dir: Path) -> None:
    old = write_demo(LocalStore(store_dir), now=NOW - timedelta(days=3650))
    code, out = run("snapshot", "prune", "--older-than", "2w", "--dry-run")
    assert code == 0 and out.splitlines()[0] == f"would delete {old.id}"
    assert run("snapshot", "list", "--json")[1] != "[]\n"
    code, out = run("snapshot", "prune", "--older-than", "2w", "--json")
    assert code == 0 and json.loads(out)["deleted"] == [old.id]
    assert run("snapshot", "list", "--json") == (0, "[]\n")


def test_prune_errors(store_dir: Path) -> None:
    assert run("snapshot", "prune", "--older-than", "soon") == (
        2,
        "Error: --older-than: expected a positive number with h, d or w (e.g. 30d), got 'soon'\n",
    )
    code, out = run("snapshot", "prune")
    assert code == 2 and "Error: Missing option '--older-than'" in out


def test_bad_store_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPRO_SNAPSHOT_STORE", "ftp://host/x")
    assert run("snapshot", "list") == (
        2,
        "Error: snapshots.store: expected a folder or s3://bucket/prefix, got 'ftp://host/x'\n",
    )


def test_list_from_s3(s3_settings: object, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from repro.config import SnapshotSettings
    from repro.snapshots.store import open_store

    assert isinstance(s3_settings, SnapshotSettings)
    snap = write_demo(open_store(s3_settings))
    (tmp_path / "work").mkdir(exist_ok=True)
    config = tmp_path / "work" / "repro.yaml"
    config.write_text(
        f"snapshots:\n  store: {s3_settings.store}\n  endpoint_url: {s3_settings.endpoint_url}\n"
    )
    code, out = run("--config", str(config), "snapshot", "list", "--json")
    assert code == 0, out
    assert [s["id"] for s in json.loads(out)] == [snap.id]
    assert run("--config", str(config), "snapshot", "verify", snap.id)[0] == 0
