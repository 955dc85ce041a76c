"""Rule files: accepted syntax, merging, digests and exact validation errors (file:line: key: problem)."""

from __future__ import annotations

from pathlib import Path

import pytest

from masking.maskhelp import DEMO_RULES, rules_from
from repro.errors import RuleError
from repro.masking.rules import load_rules, validate_against_schema

ISSUE_EXAMPLE = """\
tables:
  users:
    columns:
      email:         {strategy: email, unique: true}
      first_name:    {strategy: faker, provider: first_name}
      phone:         {strategy: partial, keep_last: 2}
      password_hash: {strategy: fixed, value: "$2b$12$abc"}
      api_token:     {strategy: hash, length: 24}
      notes:         redact
      deleted_reason: nullify
      birth_date:    {strategy: date_shift, max_days: 30}
      display_name:  {strategy: template, template: "{first_name} {last_name}"}
      created_at:    keep
      role:          {keep: {reason: "not personal: customer/admin flag"}}
  audit_log:
    columns:
      payload:
        strategy: json
        paths:
          "$.email": {strategy: email}
          "$.ip":    {strategy: faker, provider: ipv4}
          "$.items[*].note": redact
  products:
    default: keep
"""


def test_issue_example_parses_with_defaults_filled() -> None:
    rules = rules_from(ISSUE_EXAMPLE)
    users = rules.tables["users"].columns
    assert users["email"].strategy == "email" and users["email"].unique
    assert dict(users["email"].options) == {"domain": "example.com"}
    assert dict(users["api_token"].options) == {"length": 24, "alphabet": "hex", "prefix": ""}
    assert users["notes"].strategy == "redact"
    assert users["role"].is_keep and users["role"].reason == "not personal: customer/admin flag"
    assert users["email"].where == "rules.yaml:4"
    payload = rules.tables["audit_log"].columns["payload"]
    assert [p for p, _ in payload.paths] == ["$.email", "$.ip", "$.items[*].note"]
    assert rules.tables["products"].default is not None and rules.tables["products"].default.is_keep
    assert rules.column_rule("products", "anything") == rules.tables["products"].default


def test_digest_ignores_layout_but_not_decisions() -> None:
    a = rules_from("tables:\n  t:\n    columns:\n      c: redact\n")
    b = rules_from("\n\ntables: {t: {columns: {c: {strategy: redact}}}}\n", "other.yaml")
    c = rules_from("tables:\n  t:\n    columns:\n      c: nullify\n")
    assert a.digest() == b.digest()
    assert a.digest() != c.digest()
    assert len(a.digest()) == 64


def test_load_rules_merges_files_and_refuses_a_table_twice(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("tables:\n  users:\n    default: keep\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.yml").write_text("tables:\n  orders:\n    default: keep\n")
    rules = load_rules(tmp_path)
    assert sorted(rules.tables) == ["orders", "users"]
    (tmp_path / "c.yaml").write_text("# more\ntables:\n  users:\n    default: redact\n")
    with pytest.raises(RuleError) as err:
        load_rules(tmp_path)
    assert (
        str(err.value)
        == f"{tmp_path / 'c.yaml'}:3: table 'users' is already defined in {tmp_path / 'a.yaml'}:2"
    )


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(RuleError, match=r"masking rules directory not found$"):
        load_rules(tmp_path / "nope")


def test_malformed_yaml_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("tables:\n  users: [\n")
    with pytest.raises(RuleError, match=r"bad\.yaml:\d+: malformed YAML"):
        load_rules(tmp_path)


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            "emial",
            "rules.yaml:4: users.email: unknown strategy 'emial' (known: date_shift, email, faker, fixed, "
            "hash, json, keep, noise, nullify, partial, redact, regex_replace, template, uuid)",
        ),
        (
            "{strategy: partial, keep_lst: 2}",
            "rules.yaml:4: users.email: unknown option 'keep_lst' for strategy "
            "'partial' (allowed: keep_first, keep_last, mask_char, reason, unique)",
        ),
        (
            "{strategy: hash, length: '24'}",
            "rules.yaml:4: users.email: option 'length' of strategy 'hash' "
            "expects an integer, got a string ('24')",
        ),
        (
            "{strategy: hash, length: 0}",
            "rules.yaml:4: users.email: option 'length' of strategy 'hash' must be >= 1",
        ),
        (
            "{strategy: hash, alphabet: base64}",
            "rules.yaml:4: users.email: option 'alphabet' of strategy 'hash' "
            "must be one of hex, digits, alnum, got 'base64'",
        ),
        ("fixed", "rules.yaml:4: users.email: strategy 'fixed' needs option 'value'"),
        (
            "{strategy: redact, unique: true}",
            "rules.yaml:4: users.email: strategy 'redact' cannot produce unique values",
        ),
        (
            "{strategy: email, unique: yes please}",
            "rules.yaml:4: users.email: option 'unique' expects true/false, got a string ('yes please')",
        ),
        ("{provider: first_name}", "rules.yaml:4: users.email: missing key 'strategy'"),
        ("{keep: {reason: ''}}", "rules.yaml:4: users.email: 'keep.reason' must be a non-empty string"),
        ("42", "rules.yaml:4: users.email: expected a strategy name or a mapping, got an integer (42)"),
        (
            "{strategy: noise}",
            "rules.yaml:4: users.email: strategy 'noise' needs exactly one of 'relative' or 'absolute'",
        ),
        (
            "{strategy: regex_replace, pattern: '(', replacement: x}",
            "rules.yaml:4: users.email: option 'pattern' "
            "is not a valid regular expression: missing ), unterminated subpattern at position 0",
        ),
        (
            "{strategy: json, paths: {'email': redact}}",
            "rules.yaml:4: users.email: invalid json path 'email': a path starts with '$'",
        ),
        (
            "{strategy: json, paths: {'$.a': {strategy: template, template: x}}}",
            "rules.yaml:4: users.email $.a: strategy 'template' is not allowed inside json paths",
        ),
        (
            "{strategy: date_shift, min_days: 9, max_days: 3}",
            "rules.yaml:4: users.email: option 'min_days' is larger than 'max_days'",
        ),
    ],
)
def test_rule_errors_are_exact(rule: str, message: str) -> None:
    text = f"tables:\n  users:\n    columns:\n      email: {rule}\n"
    with pytest.raises(RuleError) as err:
        rules_from(text)
    assert str(err.value) == message


def test_unknown_keys_at_table_and_file_level() -> None:
    with pytest.raises(RuleError) as err:
        rules_from("tables:\n  users:\n    colums: {}\n")
    assert str(err.value) == "rules.yaml:3: unknown key 'colums' in table 'users' (allowed: columns, default)"
    with pytest.raises(RuleError) as err:
        rules_from("table:\n  users: {}\n")
    assert str(err.value) == "rules.yaml:1: unknown key 'table' in the rule file (allowed: tables)"


def test_option_error_points_at_the_option_line() -> None:
    text = (
        "tables:\n  users:\n    columns:\n      phone:\n        strategy: partial\n        keep_last: two\n"
    )
    with pytest.raises(RuleError) as err:
        rules_from(text)
    assert str(err.value).startswith("rules.yaml:6: users.phone: option 'keep_last'")


def test_validate_against_schema_reports_stale_rules(demo_graph) -> None:  # type: ignore[no-untyped-def]
    rules = rules_from("tables:\n  users:\n    columns:\n      emial: redact\n  ghosts:\n    default: keep\n")
    with pytest.raises(RuleError) as err:
        validate_against_schema(rules, demo_graph)
    assert str(err.value) == "rules.yaml:5: table 'ghosts' is not in the schema (and 1 more problem(s))"
    with pytest.raises(RuleError) as err:
        validate_against_schema(rules, demo_graph, tables=["users", "orders"])
    assert str(err.value) == "rules.yaml:4: column 'users.emial' is not in the schema"


def test_template_references_are_validated(demo_graph) -> None:  # type: ignore[no-untyped-def]
    rules = rules_from(
        "tables:\n  users:\n    columns:\n      display_name: {strategy: template, template: '{nick}'}\n"
    )
    with pytest.raises(RuleError) as err:
        validate_against_schema(rules, demo_graph)
    assert str(err.value) == "rules.yaml:4: users.display_name: template refers to unknown column 'nick'"
    cyclic = rules_from(
        "tables:\n  users:\n    columns:\n"
        "      first_name: {strategy: template, template: '{display_name}'}\n"
        "      display_name: {strategy: template, template: '{first_name}'}\n"
    )
    with pytest.raises(RuleError, match="template refers to itself"):
        validate_against_schema(cyclic, demo_graph)


def test_foreign_key_masked_apart_from_its_key_is_refused(demo_graph) -> None:  # type: ignore[no-untyped-def]
    rules = rules_from("tables:\n  orders:\n    columns:\n      user_id: {strategy: hash}\n")
    with pytest.raises(RuleError) as err:
        validate_against_schema(rules, demo_graph)
    assert str(err.value) == (
        "rules.yaml:4: orders.user_id references users.id but is masked differently (joins would break):"
        " give both the same rule, or leave the foreign key without one"
    )
    same = rules_from(
        "tables:\n  users:\n    columns:\n      id: hash\n  orders:\n    columns:\n      user_id: hash\n"
    )
    validate_against_schema(same, demo_graph)


def test_shipped_demo_rules_fit_the_demo_schema(demo_graph) -> None:  # type: ignore[no-untyped-def]
    rules = load_rules(DEMO_RULES)
    validate_against_schema(rules, demo_graph)
    assert set(rules.tables) == set(demo_graph.tables)
