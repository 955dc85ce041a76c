"""`repro demo init` / `repro demo show`, scripts/make_demo_db.py and demo/repro.yaml."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from repro.cli.demo import demo
from repro.cli.main import cli
from repro.config import VirtualForeignKey, load_settings
from repro.demo import build_demo_database, describe_user

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


def last_line(result: Any) -> str:
    return str(result.output).strip().splitlines()[-1]


def user_count(url: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT count(*) FROM users")).scalar_one())
    finally:
        engine.dispose()


def test_init_builds_the_default_file_and_refuses_to_overwrite(isolated_env: Path) -> None:
    result = run("demo", "init", "--users", "20")
    assert result.exit_code == 0, result.output
    assert (isolated_env / "demo" / "production.db").is_file()  # the parent folder was created
    lines = result.output.splitlines()
    assert lines[0].startswith("Built the demo database at sqlite:///demo/production.db (seed 42, 20 users)")
    assert any(line.split() == ["users", "20"] for line in lines)
    assert lines[-1].startswith("total: ")

    again = run("demo", "init")
    assert again.exit_code == 2
    assert last_line(again) == (
        "Error: sqlite:///demo/production.db is not empty (11 tables); pass --force to drop and recreate the demo tables"
    )
    assert user_count("sqlite:///demo/production.db") == 20  # untouched


def test_init_force_quiet_prints_nothing(isolated_env: Path) -> None:
    assert run("demo", "init", "--users", "20").exit_code == 0
    result = run("demo", "init", "--force", "--quiet", "--users", "30", "--seed", "3")
    assert result.exit_code == 0
    assert result.output == ""
    assert user_count("sqlite:///demo/production.db") == 30


def test_init_json_at_a_url(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nested' / 'prod.db'}"
    result = run("demo", "init", url, "--users", "25", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["url"] == url and data["seed"] == 42 and data["counts"]["users"] == 25
    assert data["total_rows"] == sum(data["counts"].values())


def test_init_rejects_too_few_users() -> None:
    result = run("demo", "init", "--users", "5")
    assert result.exit_code == 2
    assert last_line(result) == "Error: Invalid value for '--users': 5 is not in the range x>=20."


@pytest.fixture
def production_and_staging(tmp_path: Path) -> tuple[str, str]:
    """A production build and a staging database where user 7 was 'masked' and lost one audit row."""
    source, target = f"sqlite:///{tmp_path / 'prod.db'}", f"sqlite:///{tmp_path / 'stg.db'}"
    build_demo_database(source, users=20)
    build_demo_database(target, users=20)
    engine = sa.create_engine(target)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE users SET email = 'masked-7@example.invalid' WHERE id = 7"))
        conn.execute(
            sa.text("DELETE FROM audit_log WHERE id = (SELECT min(id) FROM audit_log WHERE actor_id = 7)")
        )
    engine.dispose()
    return source, target


def test_describe_user_compares_both_sides(production_and_staging: tuple[str, str]) -> None:
    source, target = production_and_staging
    comparison = describe_user(source, target, 7)
    assert comparison.production["id"] == 7 and comparison.staging is not None
    assert comparison.changed_columns() == ["email"]
    assert comparison.staging["email"] == "masked-7@example.invalid"
    counts = {c.table: (c.production, c.staging) for c in comparison.counts}
    production_log, staging_log = counts["audit_log"]
    assert staging_log == production_log - 1
    assert counts["orders"][0] >= 3 and counts["orders"][0] == counts["orders"][1]


def test_show_prints_side_by_side(production_and_staging: tuple[str, str]) -> None:
    source, target = production_and_staging
    result = run("demo", "show", "7", "--source", source, "--target", target)
    assert result.exit_code == 0, result.output
    email = next(line for line in result.output.splitlines() if line.startswith("email "))
    assert "masked-7@example.invalid" in email and email.rstrip().endswith("masked")
    role = next(line for line in result.output.splitlines() if line.startswith("role "))
    assert role.split() == ["role", "customer", "customer"]
    assert last_line(result) == "1 of 18 columns differ on staging"


def test_show_takes_source_and_target_from_the_config(
    production_and_staging: tuple[str, str], isolated_env: Path
) -> None:
    source, target = production_and_staging
    (isolated_env / "repro.yaml").write_text(f"source: {source}\ntarget: {target}\n")
    result = run("demo", "show", "7", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["changed"] == ["email"] and data["staging"]["id"] == 7


def test_show_before_any_copy_does_not_create_staging(tmp_path: Path) -> None:
    source = f"sqlite:///{tmp_path / 'prod.db'}"
    build_demo_database(source, users=20)
    staging = tmp_path / "staging.db"
    result = run("demo", "show", "7", "--source", source, "--target", f"sqlite:///{staging}")
    assert result.exit_code == 0, result.output
    assert "User 7 is not on staging yet: run `repro copy-user 7` first." in result.output
    assert not staging.exists()


def test_show_errors(tmp_path: Path) -> None:
    source = f"sqlite:///{tmp_path / 'prod.db'}"
    build_demo_database(source, users=20)
    unknown = run("demo", "show", "999", "--source", source, "--target", "sqlite:///stg.db")
    assert unknown.exit_code == 1
    assert last_line(unknown) == f"Error: user 999 not found in production ({source})"
    no_source = run("demo", "show", "7")
    assert no_source.exit_code == 2
    assert last_line(no_source) == (
        "Error: no source database: set `source:` in repro.yaml, REPRO_SOURCE_URL, or pass --source"
    )


def test_every_demo_command_has_help_with_an_example() -> None:
    assert isinstance(demo, click.Group)
    assert sorted(demo.commands) == ["init", "show"]
    for name in demo.commands:
        result = run("demo", name, "--help")
        assert result.exit_code == 0
        example = result.output.split("Example:")[1]
        assert example.strip().startswith("repro ") and f"demo {name}" in example, name


def test_make_demo_db_script(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'script.db'}"
    script = str(PROJECT_ROOT / "scripts" / "make_demo_db.py")
    done = subprocess.run(
        [sys.executable, script, url, "--users", "20", "--seed", "9"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"Built the demo database at {url}: ")
    assert user_count(url) == 20
    again = subprocess.run([sys.executable, script, url], capture_output=True, text=True, check=False)
    assert again.returncode == 2
    assert again.stderr.strip() == (
        f"Error: {url} is not empty (11 tables); pass --force to drop and recreate the demo tables"
    )


def test_demo_config_file() -> None:
    settings = load_settings(PROJECT_ROOT / "demo" / "repro.yaml", env={})
    assert settings.source_url == "sqlite:///demo/production.db"
    assert settings.target_url == "sqlite:///demo/staging.db"
    assert (settings.root_table, settings.root_key) == ("users", "id")
    assert settings.rules_dir.resolve() == PROJECT_ROOT / "masking_rules"
    assert settings.subset.virtual_foreign_keys == (
        VirtualForeignKey("audit_log", ("actor_id",), "users", ("id",)),
    )
    assert settings.subset.skip == ("audit_log.reviewer_id",)


def test_describe_user_on_each_database(dialect: str, new_database: Any) -> None:
    source, target = new_database(dialect, "prod"), new_database(dialect, "stg")
    build_demo_database(source, users=20)
    empty = describe_user(source, target, 7)
    assert empty.staging is None and {c.staging for c in empty.counts} == {None}
    build_demo_database(target, users=20, seed=5)  # another user 7: every personal column differs
    comparison = describe_user(source, target, 7)
    assert comparison.staging is not None and comparison.staging["id"] == 7
    assert {"email", "first_name", "public_id"} <= set(comparison.changed_columns())
    assert "id" not in comparison.changed_columns()
    assert all(c.production >= 0 and c.staging is not None for c in comparison.counts)
