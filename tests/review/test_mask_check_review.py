"""Review: `repro mask-check` must not miss personal data kept in clear (keys, plural names, JSON documents)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from masking.maskhelp import rules_from

from repro.config import Settings
from repro.masking.check import check_masking, check_rules, looks_personal
from repro.schema import SchemaGraph
from review.revhelp import create, run_sql, write_rules


def test_a_personal_primary_key_kept_only_because_it_is_a_key_is_reported(
    make_graph: Callable[[str], SchemaGraph],
) -> None:
    graph = make_graph(
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(100));"
        "CREATE TABLE subscribers (email VARCHAR(100) PRIMARY KEY, user_id INTEGER REFERENCES users(id),"
        " home_address_id INTEGER REFERENCES users(id), phone_hash VARCHAR(20))"
    )
    rules = rules_from(
        "tables:\n  users:\n    columns:\n      email: {strategy: email}\n"
        "  subscribers:\n    columns:\n      phone_hash: {strategy: hash}\n"
    )
    findings = [(f.kind, f.name) for f in check_rules(rules, graph).findings]
    assert findings == [("personal", "subscribers.email")]
    acknowledged = rules_from(
        "tables:\n  users:\n    columns:\n      email: {strategy: email}\n"
        "  subscribers:\n    columns:\n      email: {keep: {reason: 'test accounts only'}}\n"
        "      phone_hash: {strategy: hash}\n"
    )
    assert check_rules(acknowledged, graph).findings == []


@pytest.mark.parametrize(
    "name", ["emails", "phone_numbers", "Addresses", "e_mail", "post_code", "client_ipv4", "ip_addresses"]
)
def test_personal_column_names_in_plural_or_split_form_are_recognised(name: str) -> None:
    assert looks_personal(name)


@pytest.mark.parametrize("name", ["status", "created_at", "unit_price", "is_active", "description", "plan"])
def test_ordinary_column_names_stay_unflagged(name: str) -> None:
    assert not looks_personal(name)


@pytest.fixture
def json_source(new_database: Any) -> str:
    url = str(new_database("sqlite"))
    md = sa.MetaData()
    sa.Table(
        "events",
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("meta", sa.JSON),
        sa.Column("payload", sa.JSON),
    )
    create(url, md)
    run_sql(
        url,
        """INSERT INTO events VALUES (1, '{"contact": {"mail": "ann@corp.example"}, "n": 1}',"""
        """ '{"email": "ann@corp.example", "old": {"email": "bob@corp.example"}}')""",
        """INSERT INTO events VALUES (2, '{"n": 2}', '{"email": "cy@corp.example"}')""",
    )
    return url


def test_sampling_reports_emails_inside_a_kept_json_column(json_source: str, tmp_path: Path) -> None:
    rules = write_rules(
        tmp_path,
        "tables:\n  events:\n    columns:\n      meta: keep\n"
        '      payload: {strategy: json, paths: {"$.email": {strategy: email}, "$.old.email": {strategy: email}}}\n',
    )
    report = check_masking(Settings(source_url=json_source), rules_dir=rules, sample=5)
    assert [(f.kind, f.name, f.message) for f in report.findings] == [
        ("sample", "events.meta", "events.meta is kept in clear but 1 of 2 sampled values look like an email")
    ]


def test_sampling_reports_personal_values_left_at_unmasked_json_paths(
    json_source: str, tmp_path: Path
) -> None:
    rules = write_rules(
        tmp_path,
        "tables:\n  events:\n    columns:\n"
        '      meta: {strategy: json, paths: {"$.contact.mail": {strategy: email}}}\n'
        '      payload: {strategy: json, paths: {"$.email": {strategy: email}}}\n',
    )
    report = check_masking(Settings(source_url=json_source), rules_dir=rules, sample=5)
    assert [(f.kind, f.name, f.message) for f in report.findings] == [
        (
            "leak",
            "events.payload",
            "events.payload: 1 of 2 sampled documents keep a value that looks like an email"
            " at a path without a rule",
        )
    ]
