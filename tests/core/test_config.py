"""repro.yaml loading: overrides, strict validation with file:line:key errors, redaction."""

from __future__ import annotations

from pathlib import Path

import pytest

from repro.config import load_settings, parse_root_option
from repro.db import redact_text, redact_url
from repro.errors import ConfigError

FULL = """\
source: postgresql://prod-ro:s3cret@db.internal/app
target: postgresql://staging@stg.internal/app
root: {table: users, key: id}
schema: public
subset:
  max_rows: 1000
  virtual_foreign_keys:
    - {from: audit_log.actor_id, to: users.id}
  skip: [audit_log.reviewer_id]
masking: {rules: masking_rules/}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "repro.yaml"
    path.write_text(text)
    return path


def test_full_file_and_precedence(tmp_path: Path) -> None:
    path = write(tmp_path, FULL)
    s = load_settings(path, env={})
    assert s.source_url == "postgresql://prod-ro:s3cret@db.internal/app"
    assert s.schema == "public"
    assert s.subset.max_rows == 1000
    assert s.subset.virtual_foreign_keys[0].table == "audit_log"
    assert s.subset.skip == ("audit_log.reviewer_id",)
    assert s.rules_dir == tmp_path / "masking_rules"
    env = {"REPRO_SOURCE_URL": "sqlite:///env.db", "REPRO_TARGET_URL": "sqlite:///t.db"}
    s = load_settings(path, env=env)
    assert s.source_url == "sqlite:///env.db" and s.target_url == "sqlite:///t.db"
    s = load_settings(path, env=env, source_url="sqlite:///cli.db")
    assert s.source_url == "sqlite:///cli.db"


def test_default_file_is_optional(isolated_env: Path) -> None:
    s = load_settings(env={})
    assert s.source_url is None and s.root_table == "users" and s.root_key == "id"
    with pytest.raises(ConfigError, match="no source database"):
        s.require_source()


def test_explicit_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope.yaml: configuration file not found"):
        load_settings(tmp_path / "nope.yaml", env={})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("source: x\nbogus: 1\n", r"repro.yaml:2: unknown key 'bogus' in repro.yaml"),
        (
            "subset:\n  max_rows: many\n",
            r"repro.yaml:2: key 'subset.max_rows': expected an integer, got a string",
        ),
        ("subset:\n  max_rows: -5\n", r"repro.yaml:2: key 'subset.max_rows': must be a positive integer"),
        ("root: {table: users, column: id}\n", r"repro.yaml:1: unknown key 'column' in root"),
        ("subset:\n  skip: users\n", r"repro.yaml:2: key 'subset.skip': expected a list"),
        (
            "subset:\n  virtual_foreign_keys:\n    - {from: a.b}\n",
            r"repro.yaml:3: key 'subset.virtual_foreign_keys.to' is required",
        ),
        ("source: [1, 2\n", r"repro.yaml:\d+: malformed YAML"),
        ("source: a\nsource: b\n", r"repro.yaml:2: duplicate key 'source'"),
        ("- just\n- a list\n", r"repro.yaml:1: expected a mapping at the top level"),
        ("load:\n  triggers: off\n", r"repro.yaml:2: key 'load.triggers': expected a string"),
        ("load:\n  triggers: never\n", r"repro.yaml:2: key 'load.triggers': expected auto or keep"),
        ("load:\n  fast: true\n", r"repro.yaml:2: unknown key 'fast' in load"),
    ],
)
def test_validation_errors_name_file_line_key(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=message):
        load_settings(path, env={})


def test_root_option() -> None:
    assert parse_root_option("accounts.uuid") == ("accounts", "uuid")
    with pytest.raises(ConfigError, match=r"expected TABLE\.COLUMN"):
        parse_root_option("accounts")


def test_urls_are_redacted() -> None:
    assert redact_url("postgresql://u:secret@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert "secret" not in redact_text("could not connect to mysql+pymysql://root:secret@h/db: refused")
    assert redact_url("sqlite:///demo/production.db") == "sqlite:///demo/production.db"


def test_load_triggers(tmp_path: Path) -> None:
    assert load_settings(write(tmp_path, "source: x\n"), env={}).load_triggers == "auto"
    assert load_settings(write(tmp_path, "load:\n  triggers: keep\n"), env={}).load_triggers == "keep"
