"""`repro copy-user` / `repro plan` through the CLI: output, JSON, and every error path as one `Error:` line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from dbtools import PROJECT_ROOT

from repro.cli.main import cli
from repro.demo import build_demo_database


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "production.db"
    build_demo_database(f"sqlite:///{path}", seed=42, users=40)
    return path


@pytest.fixture
def config(tmp_path: Path, demo_db: Path) -> Path:
    path = tmp_path / "repro.yaml"
    path.write_text(
        f"source: sqlite:///{demo_db}\n"
        f"target: sqlite:///{tmp_path / 'staging.db'}\n"
        "subset:\n"
        "  virtual_foreign_keys: [{from: audit_log.actor_id, to: users.id}]\n"
        "  skip: [audit_log.reviewer_id]\n"
        f"masking: {{rules: {PROJECT_ROOT / 'masking_rules'}}}\n"
    )
    return path


def run(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def error_line(result: Any) -> str:
    lines = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    return lines[0]


def test_copy_user_table_and_json(config: Path, tmp_path: Path, mask_salt: str) -> None:
    result = run("--config", str(config), "copy-user", "7", "--create-schema")
    assert result.exit_code == 0, result.output
    assert "Copied users.id = 7" in result.output
    assert "snapshot: " in result.output
    result = run("--config", str(config), "copy-user", "7", "--json", "--no-snapshot")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["rows"]["users"] >= 1 and data["snapshot"] is None and data["dry_run"] is False


def test_plan_and_dry_run_write_nothing(config: Path, tmp_path: Path) -> None:
    result = run("--config", str(config), "plan", "7")
    assert result.exit_code == 0, result.output
    assert "edges followed:" in result.output and "orders.user_id -> users.id" in result.output
    assert "audit_log.reviewer_id -> users.id  [skipped by subset.skip]" in result.output
    result = run("--config", str(config), "copy-user", "7", "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["dry_run"] is True
    assert not (tmp_path / "staging.db").exists()


def test_missing_salt(config: Path) -> None:
    result = run("--config", str(config), "copy-user", "7")
    assert result.exit_code == 1, result.output
    assert error_line(result).startswith("Error: REPRO_MASK_SALT")


def test_unknown_user(config: Path, mask_salt: str) -> None:
    result = run("--config", str(config), "copy-user", "999999", "--create-schema")
    assert result.exit_code == 1, result.output
    assert error_line(result) == "Error: no row in users with id = 999999"


def test_non_integer_user(config: Path, mask_salt: str) -> None:
    result = run("--config", str(config), "copy-user", "abc")
    assert result.exit_code == 2
    assert error_line(result) == "Error: users.id is an integer column: 'abc' is not an integer"


def test_unreachable_database_and_wrong_password(config: Path, mask_salt: str) -> None:
    result = run(
        "--config", str(config), "copy-user", "7", "--source", "postgresql://postgres:pw@127.0.0.1:1/x"
    )
    assert result.exit_code == 1, result.output
    assert error_line(result).startswith("Error: cannot connect to postgresql://postgres:***@127.0.0.1:1/x: ")
    result = run(
        "--config", str(config), "plan", "7", "--source", "mysql+pymysql://root:wrongpw@127.0.0.1:3306/x"
    )
    assert result.exit_code == 1, result.output
    line = error_line(result)
    assert line.startswith("Error: cannot connect to mysql+pymysql://root:***@127.0.0.1:3306/x: ")
    assert "wrongpw" not in result.output


def test_missing_target_table_and_column(config: Path, tmp_path: Path, mask_salt: str) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'staging.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE users (id INTEGER PRIMARY KEY)")
    engine.dispose()
    result = run("--config", str(config), "copy-user", "7")
    assert result.exit_code == 1, result.output
    assert error_line(result).startswith("Error: the target database has no table ")
    result = run("--config", str(config), "copy-user", "7", "--create-schema")
    assert result.exit_code == 1, result.output
    assert error_line(result).startswith("Error: the target database has no column users.")


def test_uncovered_column_blocks_the_copy(config: Path, tmp_path: Path, mask_salt: str) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    text = "".join(p.read_text() for p in sorted((PROJECT_ROOT / "masking_rules").glob("*.yaml")))
    (rules / "all.yaml").write_text(text.replace("      email:", "      email_unused:", 1))
    cfg = config.read_text().replace(str(PROJECT_ROOT / "masking_rules"), str(rules))
    config.write_text(cfg)
    result = run("--config", str(config), "copy-user", "7", "--create-schema")
    assert result.exit_code != 0
    assert "email" in error_line(result)
    assert (
        not (tmp_path / "staging.db").exists()
        or sa.inspect(sa.create_engine(f"sqlite:///{tmp_path / 'staging.db'}")).get_table_names() == []
    )


def test_bad_root_and_missing_source(tmp_path: Path, mask_salt: str) -> None:
    result = run("copy-user", "7", "--root", "users")
    assert result.exit_code == 2
    assert error_line(result) == "Error: --root: expected TABLE.COLUMN, got 'users'"
    result = run("copy-user", "7")
    assert result.exit_code == 2
    assert error_line(result).startswith("Error: no source database: ")


def test_traceback_flag_shows_the_stack(config: Path) -> None:
    result = CliRunner().invoke(cli, ["--traceback", "--config", str(config), "copy-user", "7"])
    assert result.exit_code == 1, result.output
    assert result.exception is not None and "REPRO_MASK_SALT" in str(result.exception)


def _walk(group: Any, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    import click

    ctx = click.Context(group)
    out = []
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        out.append(((*prefix, name), cmd))
        if isinstance(cmd, click.Group):
            out += _walk(cmd, (*prefix, name))
    return out


def test_every_command_has_help_text() -> None:
    for path, cmd in _walk(cli):
        result = run(*path, "--help")
        assert result.exit_code == 0, path
        assert (cmd.help or "").strip(), f"repro {' '.join(path)} has no help text"
        assert "under construction" not in (cmd.help or ""), path


def test_copy_user_help_documents_every_option() -> None:
    result = run("copy-user", "--help")
    for option in [
        "--source",
        "--target",
        "--root",
        "--incident",
        "--dry-run",
        "--create-schema",
        "--no-snapshot",
        "--json",
        "Example",
    ]:
        assert option in result.output


def _console(*args: str, cwd: Path) -> Any:
    """The installed `repro` script itself (it leaves through os._exit once its output is flushed)."""
    import os
    import subprocess
    import sys

    script = Path(sys.executable).parent / "repro"
    return subprocess.run([str(script), *args], capture_output=True, text=True, cwd=cwd, env=dict(os.environ))


def test_console_script_flushes_its_output_and_keeps_exit_codes(
    config: Path, tmp_path: Path, mask_salt: str
) -> None:
    done = _console("--config", str(config), "copy-user", "7", "--json", "--create-schema", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["total_rows"] > 0  # the whole document arrived through the pipe
    missing = _console("--config", str(config), "copy-user", "999999", cwd=tmp_path)
    assert missing.returncode == 1
    assert missing.stderr.strip().splitlines()[-1].startswith("Error: no row in users with id = 999999")
    usage = _console("no-such-command", cwd=tmp_path)
    assert usage.returncode == 2 and "No such command" in usage.stderr
    version = _console("--version", cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("repro, version ")
