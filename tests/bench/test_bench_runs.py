"""Process runs of the benchmark: timing wrapper, failure reporting, the repro.yaml it writes."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from bench_runs import copy_user_command, last_line, repro_config, run_process, write_repro_config

from repro.config import load_settings


def test_repro_config_loads_with_the_projects_own_settings_parser(tmp_path: Path) -> None:
    path = write_repro_config("postgresql+psycopg2://postgres@127.0.0.1:5432/src", tmp_path)
    settings = load_settings(path, env={})
    assert settings.source_url == "postgresql+psycopg2://postgres@127.0.0.1:5432/src"
    assert settings.subset.skip == ("audit_log.reviewer_id",)
    [vfk] = settings.subset.virtual_foreign_keys
    assert (vfk.table, vfk.columns, vfk.ref_table, vfk.ref_columns) == (
        "audit_log",
        ("actor_id",),
        "users",
        ("id",),
    )
    assert settings.snapshots.store == str(tmp_path / "snapshots")
    assert settings.rules_dir.name == "masking_rules"
    assert repro_config("x", tmp_path)["masking"]["rules"] == str(settings.rules_dir)


def test_copy_user_command_asks_for_json_and_names_the_target() -> None:
    command = copy_user_command(Path("/tmp/r.yaml"), 42, "postgresql://h/stg")
    assert command[1:] == [
        "--config",
        "/tmp/r.yaml",
        "copy-user",
        "42",
        "--target",
        "postgresql://h/stg",
        "--json",
        "--quiet",
    ]


def test_last_line_skips_blank_lines() -> None:
    assert last_line("Traceback\n  ...\nError: boom\n\n") == "Error: boom"
    assert last_line("") == "(no output)"


def test_successful_process_reports_rows_and_peak_rss(tmp_path: Path) -> None:
    script = "import json; print(json.dumps({'rows': {'users': 2, 'orders': 5}}))"
    run = run_process([sys.executable, "-c", script], env={}, cwd=tmp_path, timeout_s=60)
    assert run.ok and run.rows == {"users": 2, "orders": 5} and run.total_rows == 7
    assert run.peak_rss_mb is not None and run.peak_rss_mb > 1


def test_failing_process_is_a_result_with_its_last_stderr_line(tmp_path: Path) -> None:
    script = "import sys; print('working', file=sys.stderr); print('Error: no rule for users.email', file=sys.stderr); sys.exit(1)"
    run = run_process([sys.executable, "-c", script], env={}, cwd=tmp_path, timeout_s=60)
    assert not run.ok
    assert run.error == "exit 1: Error: no rule for users.email"
    assert run.to_dict()["error"] == run.error


@pytest.mark.parametrize("timeout_s", [0.3])
def test_process_past_its_timeout_is_killed_and_reported(tmp_path: Path, timeout_s: float) -> None:
    run = run_process(
        [sys.executable, "-c", "import time; time.sleep(30)"], env={}, cwd=tmp_path, timeout_s=timeout_s
    )
    assert not run.ok
    assert run.error == "timed out after 0s"
