"""`repro mask-check` against real databases: exit codes, findings, and every output format."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from dbtools import chinook_rules, load_chinook

from masking.maskhelp import DEMO_RULES
from repro.cli.main import cli
from repro.config import load_settings
from repro.demo import build_demo_database
from repro.masking.check import check_masking, classify_value, looks_personal

CONFIG = """\
source: {url}
subset:
  virtual_foreign_keys:
    - {{from: audit_log.actor_id, to: users.id}}
masking: {{rules: {rules}}}
"""


def write_config(work: Path, url: str, rules: Path = DEMO_RULES) -> Path:
    path = work / "repro.yaml"
    path.write_text(CONFIG.format(url=url, rules=rules))
    return path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_demo_database_is_clean_on_every_dialect(dialect: str, new_database, isolated_env: Path) -> None:  # type: ignore[no-untyped-def]
    url = new_database(dialect, "maskcheck")
    build_demo_database(url, users=20)
    write_config(isolated_env, url)
    code, out = run("mask-check", "--sample", "15")
    assert code == 0, out
    assert out.startswith(
        "mask-check: OK: every column has a decision (11 tables, 80 columns, 1 rule file(s),"
    )
    assert "(self-test: throwaway salt)" in out


def test_self_test_uses_the_salt_when_set(new_database, isolated_env: Path, mask_salt: str) -> None:  # type: ignore[no-untyped-def]
    url = new_database("sqlite")
    build_demo_database(url, users=20)
    report = check_masking(load_settings(write_config(isolated_env, url)), sample=5)
    assert report.ok and report.self_test == "REPRO_MASK_SALT" and report.sampled_rows > 20


@pytest.fixture
def findings_db(dialect: str, new_database, isolated_env: Path) -> tuple[str, Path]:  # type: ignore[no-untyped-def]
    """A small schema with one of each problem: no rule, stale rules, a personal-looking kept column, a leak."""
    url = new_database(dialect, "findings")
    engine = sa.create_engine(url)
    md = sa.MetaData()
    sa.Table(
        "people",
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("email", sa.String(100)),
        sa.Column("phone", sa.String(40)),
        sa.Column("bio", sa.Text),
        sa.Column("contact", sa.String(100)),
        sa.Column("code", sa.String(20)),
    )
    md.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            md.tables["people"].insert(),
            [
                {
                    "id": 1,
                    "email": "ann@corp.com",
                    "phone": "+33 6 12 34 56 78",
                    "bio": "x",
                    "contact": "bob@corp.com",
                    "code": "AB-1",
                },
                {
                    "id": 2,
                    "email": "bo@corp.com",
                    "phone": "+33 6 12 34 56 79",
                    "bio": "y",
                    "contact": "n/a",
                    "code": "AB-2",
                },
            ],
        )
    engine.dispose()
    rules = isolated_env / "rules"
    rules.mkdir()
    (rules / "people.yaml").write_text(
        "tables:\n"
        "  people:\n"
        "    columns:\n"
        "      email: keep\n"
        "      phone: {strategy: regex_replace, pattern: 'zzz', replacement: 'x'}\n"
        "      contact: keep\n"
        "      code: {keep: {reason: 'order code'}}\n"
        "      shoe_size: keep\n"
        "  ghosts:\n"
        "    default: keep\n"
    )
    return url, rules


EXPECTED_TEXT = [
    "rules/people.yaml:9: stale: table 'ghosts' is not in the schema",
    "rules/people.yaml:8: stale: column 'people.shoe_size' is not in the schema",
    "rules/people.yaml:4: personal: people.email is kept in clear but its name suggests personal data"
    " (mask it, or acknowledge with keep: {reason: ...})",
    "rules/people.yaml:2: uncovered: people.bio has no masking rule",
]


def test_findings_in_text_format(findings_db: tuple[str, Path]) -> None:
    url, _ = findings_db
    code, out = run("mask-check", "--db", url, "--rules", "rules")
    assert code == 1
    assert out.splitlines() == [
        *EXPECTED_TEXT,
        "mask-check: 4 finding(s) (1 tables, 6 columns, 1 rule file(s))",
    ]


def test_sampling_finds_personal_values_and_leaks(findings_db: tuple[str, Path]) -> None:
    url, rules = findings_db
    (rules / "people.yaml").write_text(
        "tables:\n  people:\n    columns:\n      email: {keep: {reason: 'test'}}\n"
        "      phone: {strategy: regex_replace, pattern: 'zzz', replacement: 'x'}\n"
        "      bio: redact\n      contact: keep\n      code: {keep: {reason: 'order code'}}\n"
    )
    code, out = run("mask-check", "--db", url, "--rules", "rules", "--sample", "10")
    assert code == 1
    assert out.splitlines()[:3] == [
        "rules/people.yaml:4: sample: people.email is kept in clear but 2 of 2 sampled values look like an email",
        "rules/people.yaml:7: sample: people.contact is kept in clear but 1 of 2 sampled values look like an email",
        "rules/people.yaml:5: leak: people.phone: an original value survives masking in 2 of 2 sampled rows",
    ]
    assert "ann@corp.com" not in out  # findings never show values


def test_json_format(findings_db: tuple[str, Path]) -> None:
    url, _ = findings_db
    code, out = run("mask-check", "--db", url, "--rules", "rules", "--format", "json")
    assert code == 1
    data = json.loads(out)
    assert data["ok"] is False and data["tables"] == 1 and data["columns"] == 6
    assert [(f["kind"], f["table"], f["column"], f["file"], f["line"]) for f in data["findings"]] == [
        ("stale", "ghosts", None, "rules/people.yaml", 9),
        ("stale", "people", "shoe_size", "rules/people.yaml", 8),
        ("personal", "people", "email", "rules/people.yaml", 4),
        ("uncovered", "people", "bio", "rules/people.yaml", 2),
    ]
    assert json.loads(run("mask-check", "--db", url, "--rules", "rules", "--json")[1]) == data


def test_junit_format_parses(findings_db: tuple[str, Path]) -> None:
    url, _ = findings_db
    code, out = run("mask-check", "--db", url, "--rules", "rules", "--format", "junit")
    assert code == 1
    root = ET.fromstring(out.split("?>", 1)[1])
    suite = root.find("testsuite")
    assert suite is not None and suite.get("tests") == "8" and suite.get("failures") == "4"
    failed = {(c.get("classname"), c.get("name")): c.find("failure") for c in suite.iter("testcase")}
    assert failed[("mask-check.people", "bio")] is not None
    assert failed[("mask-check.people", "bio")].get("type") == "uncovered"  # type: ignore[union-attr]
    assert failed[("mask-check.people", "id")] is None
    assert failed[("mask-check.ghosts", "ghosts")] is not None


def test_github_format(findings_db: tuple[str, Path]) -> None:
    url, _ = findings_db
    code, out = run("mask-check", "--db", url, "--rules", "rules", "--format", "github")
    assert code == 1
    assert out.splitlines() == [
        "::error file=rules/people.yaml,line=9,title=mask-check stale::table 'ghosts' is not in the schema",
        "::error file=rules/people.yaml,line=8,title=mask-check stale::column 'people.shoe_size' is not in the schema",
        "::error file=rules/people.yaml,line=4,title=mask-check personal::people.email is kept in clear but its name"
        " suggests personal data (mask it, or acknowledge with keep: {reason: ...})",
        "::error file=rules/people.yaml,line=2,title=mask-check uncovered::people.bio has no masking rule",
    ]


def test_configuration_errors_exit_2(isolated_env: Path, new_database) -> None:  # type: ignore[no-untyped-def]
    code, out = run("mask-check")
    assert code == 2
    assert out.splitlines()[-1] == (
        "Error: no source database: set `source:` in repro.yaml, REPRO_SOURCE_URL, or pass --source"
    )
    url = new_database("sqlite")
    sa.create_engine(url).connect().close()
    rules = isolated_env / "bad"
    rules.mkdir()
    (rules / "x.yaml").write_text("tables:\n  t:\n    columns:\n      c: scramble\n")
    code, out = run("mask-check", "--db", url, "--rules", "bad")
    assert code == 2
    assert out.splitlines()[-1].startswith("Error: bad/x.yaml:4: t.c: unknown strategy 'scramble' (known: ")
    code, out = run("mask-check", "--db", url, "--format", "xml")
    assert code == 2 and "Invalid value for '--format'" in out


def test_chinook_rules_are_complete(
    dialect: str, new_database, chinook_dir: Path, isolated_env: Path
) -> None:  # type: ignore[no-untyped-def]
    url = new_database(dialect, "chinook")
    load_chinook(url, dialect)
    code, out = run("mask-check", "--db", url, "--rules", str(chinook_rules(dialect)), "--sample", "30")
    assert code == 0, out
    assert "11 tables, 64 columns" in out


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("ann@corp.com", "email"),
        ("+33 6 12 34 56 78", "phone"),
        ("4111 1111 1111 1111", "card"),
        ("4111 1111 1111 1112", None),
        ("GB82WEST12345698765432", "iban"),
        ("GB82WEST12345698765433", None),
        ("192.168.1.20", "ip"),
        ("2001:db8::1", "ip"),
        ("2024-01-02 10:00:00", None),
        ("paid", None),
        ("12345678", None),
    ],
)
def test_classify_value(value: str, kind: str | None) -> None:
    assert classify_value(value) == kind


def test_looks_personal() -> None:
    assert all(
        map(
            looks_personal,
            [
                "BillingAddress",
                "last_login_ip",
                "FirstName",
                "birth_date",
                "card_last4",
                "api_token",
                "Email",
                "dob",
            ],
        )
    )
    assert not any(map(looks_personal, ["description", "shipping", "status", "key", "Milliseconds"]))
