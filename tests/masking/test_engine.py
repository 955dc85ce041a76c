"""The engine: determinism across tables and runs, uniqueness, attempts, keys, fail-closed coverage, salt."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from masking.maskhelp import DEMO_RULES, SALT, rules_from
from repro.errors import MissingSaltError, UnmaskedColumnError
from repro.masking.batch import MaskedBatch
from repro.masking.engine import MaskingEngine, salt_fingerprint, salt_from_env
from repro.masking.rules import load_rules
from repro.schema import SchemaGraph

USERS = ["id", "email", "first_name", "last_name", "display_name", "role"]


def demo_engine(graph: SchemaGraph, salt: str = SALT, root_key: object = 7) -> MaskingEngine:
    return MaskingEngine(load_rules(DEMO_RULES), graph, salt, root_key=root_key)


def test_same_email_same_fake_across_tables_and_runs(demo_graph: SchemaGraph) -> None:
    engine = demo_engine(demo_graph)
    users = engine.mask_batch("users", ["id", "email"], [(7, "ann@corp.com")])
    audit = engine.mask_batch(
        "audit_log", ["id", "actor_id", "payload"], [(1, 7, {"email": "ann@corp.com", "ip": "10.0.0.1"})]
    )
    orgs = engine.mask_batch("organizations", ["id", "billing_email"], [(1, "ann@corp.com")])
    fake = users.rows[0][1]
    assert fake != "ann@corp.com"
    assert audit.rows[0][2]["email"] == fake and orgs.rows[0][1] == fake
    again = demo_engine(demo_graph).mask_batch("users", ["id", "email"], [(7, "ann@corp.com")])
    assert again.rows == users.rows
    other_salt = demo_engine(demo_graph, salt="another-salt-999").mask_batch(
        "users", ["id", "email"], [(7, "ann@corp.com")]
    )
    assert other_salt.rows != users.rows


def test_mask_batch_returns_a_sealed_batch_and_keeps_keys(demo_graph: SchemaGraph) -> None:
    engine = demo_engine(demo_graph)
    batch = engine.mask_batch(
        "orders",
        [
            "id",
            "user_id",
            "billing_address_id",
            "shipping_address_id",
            "status",
            "total",
            "notes",
            "placed_at",
        ],
        [(5, 7, 3, None, "paid", 10, "call me", None)],
    )
    assert isinstance(batch, MaskedBatch) and batch.table == "orders"
    assert batch.rows == [(5, 7, 3, None, "paid", 10, "[redacted]", None)]


def test_template_in_the_demo_rules(demo_graph: SchemaGraph) -> None:
    engine = demo_engine(demo_graph)
    row = engine.mask_batch("users", USERS, [(7, "a@b.com", "Ann", "Lee", "Ann L.", "customer")]).rows[0]
    assert row[4] == f"{row[2]} {row[3]}" and row[2] != "Ann" and row[5] == "customer"


def test_fail_closed_on_undecided_columns(make_graph: Callable[[str], SchemaGraph]) -> None:
    graph = make_graph(
        "create table users (id integer primary key, email text, secret text);"
        "create table notes (id integer primary key, user_id integer references users(id), body text)"
    )
    engine = MaskingEngine(rules_from("tables:\n  users:\n    columns:\n      email: email\n"), graph, SALT)
    assert engine.uncovered_columns(["users", "notes"]) == ["notes.body", "users.secret"]
    with pytest.raises(UnmaskedColumnError) as err:
        engine.check_covered(["notes", "users"])
    assert str(err.value) == (
        "2 column(s) have no masking rule: notes.body, users.secret (add a rule or an explicit `keep` in masking_rules/)"
    )
    with pytest.raises(UnmaskedColumnError, match=r"users\.secret"):
        engine.mask_batch("users", ["id", "email", "secret"], [(1, "a@b.c", "s")])
    with pytest.raises(UnmaskedColumnError, match=r"notes\.body"):
        engine.mask_value("notes", "body", ["id", "user_id", "body"], (1, 1, "x"))
    ok = engine.mask_batch("notes", ["id", "user_id"], [(1, 1)])  # keys are kept without a rule
    assert ok.rows == [(1, 1)]


def test_uniqueness_under_forced_collisions(make_graph: Callable[[str], SchemaGraph]) -> None:
    graph = make_graph("create table t (id integer primary key, code varchar(40), tag varchar(40))")
    rules = rules_from(
        "tables:\n  t:\n    columns:\n"
        "      code: {strategy: faker, provider: random_element, args: {elements: [red, blue]}, unique: true}\n"
        "      tag: {strategy: faker, provider: random_element, args: {elements: [red, blue]}}\n"
    )
    engine = MaskingEngine(rules, graph, SALT)
    assert engine.unique_columns("t") == ["code"]
    rows = [(i, f"orig{i}", f"orig{i}") for i in range(40)]
    first = engine.mask_batch("t", ["id", "code", "tag"], rows[:20]).rows
    second = engine.mask_batch("t", ["id", "code", "tag"], rows[20:]).rows  # uniqueness holds across batches
    codes = [r[1] for r in first + second]
    assert len(set(codes)) == 40
    assert all(c.split(" ")[0] in ("red", "blue") for c in codes)
    # the same rule elsewhere follows the alternatives chosen for uniqueness: equal inputs stay equal
    assert [r[2] for r in first + second] == codes
    # a fresh run masks the same inputs in the same order to the same values
    again = MaskingEngine(rules, graph, SALT)
    assert again.mask_batch("t", ["id", "code", "tag"], rows[:20]).rows == first
    # the same original seen again keeps its value
    assert engine.mask_batch("t", ["id", "code", "tag"], [rows[3]]).rows[0][1] == first[3][1]


def test_mask_value_attempts_give_deterministic_alternatives(demo_graph: SchemaGraph) -> None:
    engine = demo_engine(demo_graph)
    row = (7, "ann@corp.com")
    base = engine.mask_batch("users", ["id", "email"], [row]).rows[0][1]
    assert engine.mask_value("users", "email", ["id", "email"], row) == base
    alt1 = engine.mask_value("users", "email", ["id", "email"], row, attempt=1)
    alt2 = engine.mask_value("users", "email", ["id", "email"], row, attempt=2)
    assert len({base, alt1, alt2}) == 3 and alt1.endswith("@example.com")
    fresh = demo_engine(demo_graph)
    assert fresh.mask_value("users", "email", ["id", "email"], row, attempt=2) == alt2
    # after the copy picked an alternative, the same original keeps it everywhere (the json email too)
    audit = engine.mask_batch("audit_log", ["id", "payload"], [(1, '{"email": "ann@corp.com"}')]).rows[0][1]
    assert audit == f'{{"email": "{alt2}"}}'


def test_masked_key_masks_every_foreign_key_identically(demo_graph: SchemaGraph) -> None:
    rules = rules_from(
        "tables:\n  users:\n    default: keep\n    columns:\n      id: hash\n"
        "  orders:\n    default: keep\n  audit_log:\n    default: keep\n  support_tickets:\n    default: keep\n"
    )
    engine = MaskingEngine(rules, demo_graph, SALT)
    user_id = engine.mask_batch("users", ["id"], [(7,)]).rows[0][0]
    assert isinstance(user_id, int) and user_id != 7
    assert engine.mask_batch("orders", ["id", "user_id"], [(1, 7)]).rows == [(1, user_id)]
    assert engine.mask_batch("audit_log", ["id", "actor_id"], [(1, 7)]).rows == [(1, user_id)]  # virtual FK
    assert engine.mask_batch("support_tickets", ["id", "user_id", "assignee_id"], [(1, 7, 7)]).rows == [
        (1, user_id, user_id)
    ]
    assert engine.unique_columns("users") == ["id"]


def test_null_stays_null(demo_graph: SchemaGraph) -> None:
    engine = demo_engine(demo_graph)
    cols = ["id", "phone", "birth_date", "api_token", "notes", "password_hash"]
    row = engine.mask_batch("users", cols, [(1, None, None, None, None, None)]).rows[0]
    assert row[:5] == (1, None, None, None, None) and row[5].startswith("$2b$12$")  # fixed also replaces NULL


def test_salt_from_env() -> None:
    assert salt_from_env({"REPRO_MASK_SALT": "long-enough-salt"}) == "long-enough-salt"
    with pytest.raises(MissingSaltError) as err:
        salt_from_env({})
    assert str(err.value) == (
        "REPRO_MASK_SALT is not set: masking needs a secret salt; set it with "
        "`export REPRO_MASK_SALT=$(openssl rand -hex 32)` and keep the same value across runs"
    )
    with pytest.raises(MissingSaltError, match=r"^REPRO_MASK_SALT is too short \(at least 8 characters\)"):
        salt_from_env({"REPRO_MASK_SALT": "short"})


def test_salt_from_process_environment(mask_salt: str) -> None:
    assert salt_from_env() == mask_salt


def test_salt_fingerprint_is_stable_and_does_not_contain_the_salt() -> None:
    fp = salt_fingerprint("my-secret-salt-1")
    assert fp == salt_fingerprint("my-secret-salt-1") and fp != salt_fingerprint("my-secret-salt-2")
    assert len(fp) == 12 and "secret" not in fp
