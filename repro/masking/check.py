"""`repro mask-check`: does every column have a decision, do the rules fit the schema, does anything leak?"""

from __future__ import annotations

import ipaddress
import itertools
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from repro.config import Settings
from repro.db import connect, create_engine, read_only_snapshot
from repro.errors import MissingSaltError
from repro.masking.engine import SALT_ENV, MaskingEngine, salt_from_env
from repro.masking.jsonpath import collect_path, parse_path
from repro.masking.rules import ColumnRule, RuleSet, find_rule_problems, load_rules
from repro.masking.strategies import STRATEGIES, keeps_original
from repro.schema import SchemaGraph, reflect

# Words in a column name that suggest personal data (compared with the name's words, not substrings).
PERSONAL_WORDS = frozenset(
    {
        "email",
        "mail",
        "emailaddress",
        "phone",
        "phonenumber",
        "mobile",
        "telephone",
        "tel",
        "fax",
        "name",
        "firstname",
        "lastname",
        "fullname",
        "surname",
        "username",
        "nickname",
        "address",
        "street",
        "addr",
        "city",
        "zip",
        "zipcode",
        "postal",
        "postcode",
        "birth",
        "birthdate",
        "birthday",
        "dob",
        "ssn",
        "iban",
        "card",
        "pan",
        "cvv",
        "ip",
        "ipaddress",
        "token",
        "password",
        "passwd",
        "secret",
        "passport",
        "salary",
        "latitude",
        "longitude",
        "gender",
        "ipv4",
        "ipv6",
    }
)


@dataclass(frozen=True)
class Finding:
    """One problem; `source`/`line` point into a rule file when there is one to point at."""

    kind: str  # uncovered | stale | template | key | personal | unique | provider | sample | leak
    table: str
    column: str | None
    message: str
    source: str | None = None
    line: int | None = None

    @property
    def name(self) -> str:
        return f"{self.table}.{self.column}" if self.column else self.table

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "table": self.table,
            "column": self.column,
            "message": self.message,
            "file": self.source,
            "line": self.line,
        }


@dataclass
class CheckReport:
    """What mask-check found; `ok` when there is nothing to report."""

    tables: int = 0
    columns: list[str] = field(default_factory=list)  # every `table.column` checked
    findings: list[Finding] = field(default_factory=list)
    rule_files: list[str] = field(default_factory=list)
    sampled_rows: int = 0
    self_test: str = "skipped"  # skipped | REPRO_MASK_SALT | throwaway salt
    rules_digest: str = ""

    @property
    def ok(self) -> bool:
        return not self.findings

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "tables": self.tables,
            "columns": len(self.columns),
            "rule_files": self.rule_files,
            "rules_digest": self.rules_digest,
            "sampled_rows": self.sampled_rows,
            "self_test": self.self_test,
            "findings": [f.to_dict() for f in self.findings],
        }


def check_masking(
    settings: Settings,
    db_url: str | None = None,
    rules_dir: Path | None = None,
    sample: int = 0,
    env: Mapping[str, str] | None = None,
) -> CheckReport:
    """Reflect the source schema (read-only), check the rules against it, optionally sample and self-test."""
    url = db_url or settings.require_source()
    rules = load_rules(rules_dir or settings.rules_dir)
    engine = create_engine(url, read_only=True)
    try:
        with connect(engine) as conn:
            graph = reflect(conn, settings.schema, settings.subset.virtual_foreign_keys)
        report = check_rules(rules, graph)
        if sample > 0:
            with read_only_snapshot(engine) as conn:
                _sample_checks(rules, graph, conn, sample, report, env)
    finally:
        engine.dispose()
    return report


def check_rules(rules: RuleSet, graph: SchemaGraph) -> CheckReport:
    """The checks that need only the schema: coverage, stale rules, personal-looking kept columns, uniqueness."""
    report = CheckReport(tables=len(graph.tables), rule_files=list(rules.files), rules_digest=rules.digest())
    problems = find_rule_problems(rules, graph)
    report.findings += [Finding(p.kind, p.table, p.column, p.message, p.source, p.line) for p in problems]
    structural = [p for p in problems if p.kind != "stale" or p.table in graph.tables]
    decide = _decider(rules, graph, usable=not structural)
    for table in sorted(graph.tables):
        info = graph.tables[table]
        keys = graph.key_columns(table)
        trules = rules.tables.get(table)
        fk_columns = {c for fk in graph.parents_of(table) for c in fk.columns}
        for col in info.columns:
            report.columns.append(f"{table}.{col}")
            rule = decide(table, col)
            if rule is None:
                src, line = (trules.source, trules.line) if trules else (None, None)
                report.findings.append(
                    Finding("uncovered", table, col, f"{table}.{col} has no masking rule", src, line)
                )
                continue
            # A primary key that references nothing is kept only because it is a key: its name still counts.
            implicit_key = (
                col in info.primary_key
                and col not in fk_columns
                and (trules is None or col not in trules.columns)
            )
            if (
                rule.is_keep
                and looks_personal(col)
                and (implicit_key or (col not in keys and not rule.reason))
            ):
                # An implicit key has no rule of its own: point at its table's rules, if any.
                where = (trules.source, trules.line) if trules else (None, None)
                src, line = where if implicit_key else (rule.source, rule.line)
                report.findings.append(
                    Finding(
                        "personal",
                        table,
                        col,
                        f"{table}.{col} is kept in clear"
                        f"{' as a primary key' if implicit_key else ''} but its name suggests personal data"
                        " (mask it, or acknowledge with keep: {reason: ...})",
                        src,
                        line,
                    )
                )
            if not rule.is_keep and rule.strategy != "nullify" and not rule.unique and col not in keys:
                if (col,) in info.unique and not STRATEGIES[rule.strategy].supports_unique:
                    report.findings.append(
                        Finding(
                            "unique",
                            table,
                            col,
                            f"{table}.{col} has a unique constraint but strategy"
                            f" '{rule.strategy}' cannot produce unique values",
                            rule.source,
                            rule.line,
                        )
                    )
                elif (col,) in info.unique:
                    report.findings.append(
                        Finding(
                            "unique",
                            table,
                            col,
                            f"{table}.{col} has a unique constraint: add unique: true to its rule",
                            rule.source,
                            rule.line,
                        )
                    )
    report.findings += _provider_findings(rules, graph)
    return report


def _decider(rules: RuleSet, graph: SchemaGraph, usable: bool) -> Any:
    """The engine's decision function when the rules fit the schema, else a plain lookup (no key propagation)."""
    if usable:
        return MaskingEngine(rules, graph, "mask-check-decisions-only").decision

    def decide(table: str, column: str) -> ColumnRule | None:
        trules = rules.tables.get(table)
        if trules is not None and column in trules.columns:
            return trules.columns[column]
        if column in graph.key_columns(table):
            return ColumnRule("keep", reason="key column")
        return trules.default if trules else None

    return decide


def looks_personal(column: str) -> bool:
    """Whether a column name contains a word suggesting personal data (`BillingAddress`, `last_login_ip`)."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", column)
    words = [w for w in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if w]
    candidates = {*words, "".join(words), *(a + b for a, b in itertools.pairwise(words))}
    for word in list(candidates):  # plurals: emails, phones, addresses
        if word.endswith("es"):
            candidates.add(word[:-2])
        if word.endswith("s"):
            candidates.add(word[:-1])
    return bool(PERSONAL_WORDS.intersection(candidates))


def _provider_findings(rules: RuleSet, graph: SchemaGraph) -> list[Finding]:
    """Faker providers that do not exist (they would only fail when the first value is masked)."""
    found = []
    fakers: dict[str, Any] = {}
    for name, trules in sorted(rules.tables.items()):
        if name not in graph.tables:
            continue
        for col, rule in [*trules.columns.items(), *(((p, r) for p, r in rule_paths(trules.columns)))]:
            if rule.strategy != "faker":
                continue
            locale = str(rule.options["locale"])
            if locale not in fakers:
                from faker import Faker

                try:
                    fakers[locale] = Faker(locale)
                except (AttributeError, ValueError):
                    fakers[locale] = None
            fake = fakers[locale]
            provider = str(rule.options["provider"])
            if fake is None or provider.startswith("_") or not callable(getattr(fake, provider, None)):
                what = f"unknown Faker provider '{provider}'" if fake else f"unknown Faker locale '{locale}'"
                found.append(
                    Finding(
                        "provider", name, col.split(" ")[0], f"{name}.{col}: {what}", rule.source, rule.line
                    )
                )
    return found


def rule_paths(columns: Mapping[str, ColumnRule]) -> list[tuple[str, ColumnRule]]:
    """Rules nested in json paths, as (`column $.path`, rule)."""
    out = []
    for col, rule in columns.items():
        for path, sub in rule.paths:
            out.append((f"{col} {path}", sub))
            out += [(f"{col} {path} {p}", r) for p, r in rule_paths({"": sub})]
    return out


# --- sampling ---------------------------------------------------------------------------------------------------

_EMAIL = re.compile(r"^[\w.+-]+@[\w-]+(\.[\w-]+)+$")
_PHONE = re.compile(r"^\+?[\d\s().-]{7,24}$")
_DATE_LIKE = re.compile(r"^\d{4}-\d{2}-\d{2}")
_IBAN = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$")


def classify_value(text: str) -> str | None:
    """`email`, `phone`, `card`, `iban`, `ip` when a kept text value looks like one, else None."""
    text = text.strip()
    if not text or len(text) > 254:
        return None
    if _EMAIL.match(text):
        return "email"
    compact = re.sub(r"[\s-]", "", text)
    if compact.isdigit() and 13 <= len(compact) <= 19 and luhn_ok(compact):
        return "card"
    if _IBAN.match(compact.upper()) and iban_ok(compact.upper()):
        return "iban"
    try:
        ipaddress.ip_address(text)
        return "ip"
    except ValueError:
        pass
    digits = sum(c.isdigit() for c in text)
    if _PHONE.match(text) and 7 <= digits <= 15 and not _DATE_LIKE.match(text) and not text.isdigit():
        return "phone"
    return None


def _value_kind(value: Any) -> str | None:
    """What a kept value looks like: a text itself, else the first personal-looking text inside a JSON document."""
    if isinstance(value, str):
        kind = classify_value(value)
        if kind or not value.lstrip().startswith(("{", "[")):
            return kind
    if isinstance(value, str | dict | list):
        return next((k for text in _strings(_decoded(value)) if (k := classify_value(text))), None)
    return None


def _json_survivor(before: Any, after: Any) -> str | None:
    """The kind of a personal-looking original text still present in a masked JSON document (a path no rule
    names), else None."""
    originals = set(_strings(_decoded(before)))
    return next(
        (k for text in _strings(_decoded(after)) if text in originals and (k := classify_value(text))), None
    )


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban_ok(iban: str) -> bool:
    moved = iban[4:] + iban[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def _sample_checks(
    rules: RuleSet,
    graph: SchemaGraph,
    conn: sa.Connection,
    sample: int,
    report: CheckReport,
    env: Mapping[str, str] | None,
) -> None:
    """Look at up to `sample` rows per table: personal-looking kept values, then the masking self-test."""
    blocking = [
        f
        for f in report.findings
        if f.kind in ("template", "key", "provider") or (f.kind == "stale" and f.table in graph.tables)
    ]
    masker: MaskingEngine | None = None
    if not blocking:
        try:
            salt, report.self_test = salt_from_env(env), SALT_ENV
        except MissingSaltError:  # the self-test needs some salt, not the real one
            salt, report.self_test = secrets.token_hex(16), "throwaway salt"
        masker = MaskingEngine(rules, graph, salt)
    for table in sorted(graph.tables):
        info = graph.tables[table]
        rows = [tuple(r) for r in conn.execute(sa.select(info.table).limit(sample))]
        report.sampled_rows += len(rows)
        if not rows:
            continue
        decide = masker.decision if masker else (lambda t, c: rules.column_rule(t, c))
        for index, col in enumerate(info.columns):
            rule = decide(table, col)
            if rule is None or not rule.is_keep:
                continue
            kinds = [k for v in (row[index] for row in rows) if (k := _value_kind(v))]
            if kinds:
                top = max(set(kinds), key=kinds.count)
                report.findings.append(
                    Finding(
                        "sample",
                        table,
                        col,
                        f"{table}.{col} is kept in clear but {len(kinds)} of {len(rows)} sampled"
                        f" values look like {'an' if top[0] in 'aeiou' else 'a'} {top}",
                        rule.source or None,
                        rule.line or None,
                    )
                )
        if masker is not None:
            _self_test(masker, table, list(info.columns), rows, report)


def _self_test(
    engine: MaskingEngine, table: str, columns: list[str], rows: list[tuple[Any, ...]], report: CheckReport
) -> None:
    """Mask the sampled rows and check that no original value survives in a masked column."""
    covered = [c for c in columns if engine.decision(table, c) is not None]
    if not covered:
        return
    idx = [columns.index(c) for c in covered]
    originals = [tuple(row[i] for i in idx) for row in rows]
    masked = engine.mask_batch(table, covered, originals).rows
    for j, col in enumerate(covered):
        rule = engine.decision(table, col)
        assert rule is not None
        if rule.is_keep:
            continue
        leaks = sum(
            1 for before, after in zip(originals, masked, strict=True) if _survives(rule, before[j], after[j])
        )
        if rule.strategy == "json" and not leaks:
            kinds = [
                k
                for before, after in zip(originals, masked, strict=True)
                if before[j] is not None and (k := _json_survivor(before[j], after[j]))
            ]
            if kinds:
                top = max(set(kinds), key=kinds.count)
                report.findings.append(
                    Finding(
                        "leak",
                        table,
                        col,
                        f"{table}.{col}: {len(kinds)} of {len(rows)} sampled documents keep a value that looks"
                        f" like {'an' if top[0] in 'aeiou' else 'a'} {top} at a path without a rule",
                        rule.source,
                        rule.line,
                    )
                )
        if leaks:
            report.findings.append(
                Finding(
                    "leak",
                    table,
                    col,
                    f"{table}.{col}: an original value survives masking in {leaks} of"
                    f" {len(rows)} sampled rows",
                    rule.source,
                    rule.line,
                )
            )


def _survives(rule: ColumnRule, before: Any, after: Any) -> bool:
    if before is None or rule.strategy == "fixed":
        return False
    if rule.strategy == "json":
        leaves: list[Any] = []
        for path, sub in rule.paths:
            if not sub.is_keep:
                leaves += collect_path(_decoded(before), parse_path(path))
        texts = _strings(_decoded(after))
        return any(_text_survives(leaf, texts) for leaf in leaves if isinstance(leaf, str) and len(leaf) >= 4)
    return keeps_original(before, after)


def _strings(doc: Any) -> list[str]:
    if isinstance(doc, dict):
        return [s for v in doc.values() for s in _strings(v)]
    if isinstance(doc, list):
        return [s for v in doc for s in _strings(v)]
    return [doc] if isinstance(doc, str) else []


def _text_survives(leaf: str, texts: list[str]) -> bool:
    return any(leaf == t or (len(leaf) >= 6 and leaf in t) for t in texts)


def _decoded(value: Any) -> Any:
    import json

    if isinstance(value, str | bytes):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value
