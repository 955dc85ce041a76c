"""Every strategy through the engine: output shape, type kept, NULL kept (except fixed), determinism."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from masking.maskhelp import SALT, rules_from
from repro.errors import RuleError
from repro.masking.engine import MaskingEngine
from repro.masking.strategies import _never_identity, keeps_original
from repro.schema import SchemaGraph

DDL = """
create table t (
  id integer primary key, s varchar(200), s2 varchar(200), n integer, d numeric(10, 2), f float,
  day date, ts datetime, u varchar(36), j text, short varchar(5)
)
"""
COLUMNS = ["id", "s", "s2", "n", "d", "f", "day", "ts", "u", "j", "short"]


def mask(
    make_graph: Callable[[str], SchemaGraph],
    rule: str,
    column: str,
    values: list[Any],
    salt: str = SALT,
    root_key: object = None,
) -> list[Any]:
    graph = make_graph(DDL)
    rules = rules_from(f"tables:\n  t:\n    default: keep\n    columns:\n      {column}: {rule}\n")
    engine = MaskingEngine(rules, graph, salt, root_key=root_key)
    rows = []
    for i, v in enumerate(values):
        row: list[Any] = [i + 1] + [None] * (len(COLUMNS) - 1)
        row[COLUMNS.index(column)] = v
        rows.append(tuple(row))
    return [r[COLUMNS.index(column)] for r in engine.mask_batch("t", COLUMNS, rows).rows]


def test_keep_nullify_redact_fixed(make_graph: Callable[[str], SchemaGraph]) -> None:
    assert mask(make_graph, "keep", "s", ["a", None]) == ["a", None]
    assert mask(make_graph, "nullify", "s", ["a", None]) == [None, None]
    assert mask(make_graph, "redact", "s", ["secret", None]) == ["[redacted]", None]
    assert mask(make_graph, "{strategy: redact, text: gone}", "s", ["secret"]) == ["gone"]
    assert mask(make_graph, "{strategy: fixed, value: 'pw'}", "s", ["x", None]) == ["pw", "pw"]
    assert mask(make_graph, "{strategy: fixed, value: 3}", "d", [Decimal("1.50")]) == [Decimal("3")]


def test_hash_shapes_and_types(make_graph: Callable[[str], SchemaGraph]) -> None:
    out = mask(make_graph, "{strategy: hash, length: 24}", "s", ["tok-1", "tok-2", "tok-1", None])
    assert re.fullmatch(r"[0-9a-f]{24}", out[0]) and out[0] != out[1] and out[0] == out[2] and out[3] is None
    digits = mask(make_graph, "{strategy: hash, alphabet: digits, length: 4}", "s", ["1234"])[0]
    assert re.fullmatch(r"\d{4}", digits) and digits != "1234"
    alnum = mask(make_graph, "{strategy: hash, alphabet: alnum, length: 30, prefix: 'ref_'}", "s", ["x"])[0]
    assert re.fullmatch(r"ref_[0-9A-Za-z]{30}", alnum)
    ints = mask(make_graph, "hash", "n", [42, 43])
    assert all(isinstance(v, int) and 0 < v < 2**31 for v in ints) and ints[0] != 42


def test_hash_depends_on_salt(make_graph: Callable[[str], SchemaGraph]) -> None:
    a = mask(make_graph, "hash", "s", ["value"], salt="first-salt-123")
    b = mask(make_graph, "hash", "s", ["value"], salt="other-salt-456")
    assert a != b


def test_faker_with_args_and_never_the_original(make_graph: Callable[[str], SchemaGraph]) -> None:
    names = mask(make_graph, "{strategy: faker, provider: first_name}", "s", [f"n{i}" for i in range(50)])
    assert all(isinstance(n, str) and n.isalpha() for n in names)
    assert len(set(names)) > 10
    words = mask(make_graph, "{strategy: faker, provider: sentence, args: {nb_words: 3}}", "s", ["x"])[0]
    assert words.endswith(".")
    ints = mask(make_graph, "{strategy: faker, provider: random_int, args: {min: 1, max: 3}}", "n", [1, 2, 3])
    assert all(isinstance(v, int) and v in (1, 2, 3) for v in ints)
    assert all(
        a != b for a, b in zip(ints, [1, 2, 3], strict=True)
    )  # a draw equal to the original is redrawn


def test_a_draw_that_still_shows_the_original_is_redrawn() -> None:
    """What `repro mask-check` calls a leak (the value itself, or a text of 6+ characters inside the masked
    one: `Roberto` for `Robert`) is never what a generating strategy returns."""
    assert keeps_original("Robert", "Roberto") and keeps_original(3, 3) and keeps_original("Ann", "Ann")
    assert (
        not keeps_original("Ann", "Anna") and not keeps_original("Robert", "Bob") and not keeps_original(3, 4)
    )
    draws = {0: "Roberto", -1: "Robert", -2: "Alberto"}
    masker = _never_identity(lambda value, attempt: draws[attempt])
    assert masker("Robert", 0) == "Alberto"
    assert _never_identity(lambda value, attempt: value + "a")("Ann", 0) == "Anna"  # too short to count


def test_faker_unknown_provider_is_a_rule_error(make_graph: Callable[[str], SchemaGraph]) -> None:
    with pytest.raises(RuleError, match=r"^rules.yaml:5: unknown Faker provider 'no_such_thing'$"):
        mask(make_graph, "{strategy: faker, provider: no_such_thing}", "s", ["x"])


def test_email(make_graph: Callable[[str], SchemaGraph]) -> None:
    out = mask(make_graph, "email", "s", ["Alice@Corp.com", "bob@corp.com", None])
    assert re.fullmatch(r"[a-z]+\.[a-z]+\d{1,3}@example\.com", out[0]) and out[0] != out[1] and out[2] is None
    other = mask(make_graph, "{strategy: email, domain: staging.test}", "s", ["Alice@Corp.com"])[0]
    assert other.endswith("@staging.test")


def test_partial(make_graph: Callable[[str], SchemaGraph]) -> None:
    assert mask(make_graph, "{strategy: partial, keep_last: 2}", "s", ["+33 6 12 34 56 42"]) == [
        "+** * ** ** ** 42"
    ]
    assert mask(
        make_graph, "{strategy: partial, keep_first: 3, keep_last: 2}", "s", ["+33 6 12 34 56 42"]
    ) == ["+33 6 ** ** ** 42"]
    # keeping as much as the value holds would keep it all: everything is masked instead
    assert mask(make_graph, "{strategy: partial, keep_last: 2, mask_char: '#'}", "s", ["42"]) == ["##"]
    assert mask(make_graph, "{strategy: partial, keep_first: 1}", "n", [98765]) == [90000]


def test_template_uses_masked_values_of_the_row(make_graph: Callable[[str], SchemaGraph]) -> None:
    graph = make_graph(
        "create table p (id integer primary key, first varchar(50), last varchar(50), full varchar(8))"
    )
    rules = rules_from(
        "tables:\n  p:\n    columns:\n      first: {strategy: fixed, value: Ann}\n      last: redact\n"
        "      full: {strategy: template, template: '{first} {last}'}\n"
    )
    engine = MaskingEngine(rules, graph, SALT)
    rows = engine.mask_batch(
        "p", ["id", "full", "first", "last"], [(1, "Bob Ray", "Bob", "Ray"), (2, None, "X", "Y")]
    )
    assert rows.rows == [
        (1, "Ann [red", "Ann", "[redacted]"),
        (2, None, "Ann", "[redacted]"),
    ]  # cut to varchar(8)
    assert (
        engine.mask_value("p", "full", ["id", "full", "first", "last"], (1, "Bob Ray", "Bob", "Ray"))
        == "Ann [red"
    )


def test_date_shift_keeps_types_and_one_shift_per_root(make_graph: Callable[[str], SchemaGraph]) -> None:
    rule = "{strategy: date_shift, max_days: 30}"
    tz = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
    days = mask(make_graph, rule, "day", [date(2000, 1, 1), date(2010, 6, 15), None], root_key=7)
    delta = days[0] - date(2000, 1, 1)
    assert 1 <= abs(delta.days) <= 30 and days[1] - date(2010, 6, 15) == delta and days[2] is None
    stamp = mask(make_graph, rule, "ts", [tz], root_key=7)[0]
    assert stamp.tzinfo is UTC and (stamp - tz).days == delta.days
    texts = mask(make_graph, rule, "s", ["2000-01-01", "2000-01-01 10:00:00"], root_key=7)
    assert texts == [(date(2000, 1, 1) + delta).isoformat(), f"{date(2000, 1, 1) + delta} 10:00:00"]
    with pytest.raises(
        RuleError, match=r"^rules.yaml:5: t.s: date_shift got a text that is not an ISO date$"
    ):
        mask(make_graph, rule, "s", ["not a date"], root_key=7)


def test_noise_keeps_type_and_never_returns_the_original(make_graph: Callable[[str], SchemaGraph]) -> None:
    ints = mask(make_graph, "{strategy: noise, relative: 0.1}", "n", [1000, 0, 1])
    assert all(isinstance(v, int) for v in ints) and 900 <= ints[0] <= 1100 and ints[1] != 0 and ints[2] != 1
    decs = mask(make_graph, "{strategy: noise, absolute: 5}", "d", [Decimal("10.25")])
    assert (
        isinstance(decs[0], Decimal)
        and decs[0].as_tuple().exponent == -2
        and abs(decs[0] - Decimal("10.25")) <= 5
    )
    floats = mask(make_graph, "{strategy: noise, relative: 0.5}", "f", [2.0])
    assert isinstance(floats[0], float) and 1.0 <= floats[0] <= 3.0 and floats[0] != 2.0


def test_regex_replace(make_graph: Callable[[str], SchemaGraph]) -> None:
    rule = r"{strategy: regex_replace, pattern: '\d{4}', replacement: '####', ignore_case: true}"
    assert mask(make_graph, rule, "s", ["card 1234 5678"]) == ["card #### ####"]


def test_uuid_keeps_spelling_and_type(make_graph: Callable[[str], SchemaGraph]) -> None:
    original = uuid.UUID("12345678-1234-4234-8234-123456789abc")
    out = mask(make_graph, "uuid", "u", [original, str(original), original.hex, str(original).upper()])
    assert isinstance(out[0], uuid.UUID) and out[0] != original and out[0].version == 4
    assert out[1] == str(out[0]) and out[2] == out[0].hex and out[3] == str(out[0]).upper()


def test_json_paths_on_text_and_decoded_values(make_graph: Callable[[str], SchemaGraph]) -> None:
    rule = (
        "{strategy: json, paths: {'$.email': email, '$.items[*].note': redact, '$.a.b[1]': nullify,"
        " \"$['odd key']\": redact, '$.meta[*]': {strategy: fixed, value: x}}}"
    )
    doc = {
        "email": "a@corp.com",
        "items": [{"note": "n1", "sku": "S1"}, {"note": "n2"}, {"sku": "S3"}],
        "a": {"b": [1, 2, 3]},
        "odd key": "v",
        "meta": {"k1": 1, "k2": 2},
        "other": "kept",
    }
    text_out, dict_out, bad, null = mask(make_graph, rule, "j", [json.dumps(doc), doc, "{not json", None])
    assert isinstance(text_out, str) and isinstance(dict_out, dict)
    assert json.loads(text_out) == dict_out
    assert dict_out["email"] != "a@corp.com" and dict_out["email"].endswith("@example.com")
    assert dict_out["items"] == [{"note": "[redacted]", "sku": "S1"}, {"note": "[redacted]"}, {"sku": "S3"}]
    assert dict_out["a"] == {"b": [1, None, 3]} and dict_out["odd key"] == "[redacted]"
    assert dict_out["meta"] == {"k1": "x", "k2": "x"} and dict_out["other"] == "kept"
    assert doc["email"] == "a@corp.com" and doc["items"][0]["note"] == "n1"  # the original row is untouched
    assert bad == '"[redacted]"' and null is None


def test_json_on_invalid_error(make_graph: Callable[[str], SchemaGraph]) -> None:
    with pytest.raises(RuleError, match=r"t.j: json got a text that is not valid JSON$"):
        mask(make_graph, "{strategy: json, on_invalid: error, paths: {'$.a': redact}}", "j", ["{oops"])
    assert mask(
        make_graph, "{strategy: json, on_invalid: nullify, paths: {'$.a': redact}}", "j", ["{oops"]
    ) == [None]


def test_masked_text_is_cut_to_the_column_length(make_graph: Callable[[str], SchemaGraph]) -> None:
    out = mask(make_graph, "{strategy: hash, length: 40}", "short", ["abcdef"])
    assert len(out[0]) == 5
