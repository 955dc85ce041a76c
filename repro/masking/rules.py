"""Masking rule files (YAML) -> a strict, validated RuleSet; every error names file, line and key."""

from __future__ import annotations

import hashlib
import json
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from repro.errors import ConfigError, RuleError
from repro.masking.strategies import STRATEGIES, OptionSpec, Strategy
from repro.yamlconf import TYPE_NAMES, LineDict, load_yaml_file, type_name

if TYPE_CHECKING:
    from repro.schema import SchemaGraph

KEEP = "keep"


@dataclass(frozen=True)
class ColumnRule:
    """One decision: a strategy with its options (defaults filled in), where it was written."""

    strategy: str
    options: Mapping[str, Any] = field(default_factory=dict)
    unique: bool = False
    reason: str | None = None
    paths: tuple[tuple[str, ColumnRule], ...] = ()  # json strategy only
    source: str = "<rules>"
    line: int = 0

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}"

    @property
    def is_keep(self) -> bool:
        return self.strategy == KEEP

    def normalised(self) -> dict[str, Any]:
        """Plain data describing what the rule does (no file/line): the basis of digests and signatures."""
        data: dict[str, Any] = {"strategy": self.strategy, "options": dict(sorted(self.options.items()))}
        if self.paths:
            data["paths"] = {p: r.normalised() for p, r in self.paths}
        if self.unique:
            data["unique"] = True
        if self.reason:
            data["reason"] = self.reason
        return data

    def signature(self) -> str:
        """What the masked value depends on besides salt and input: strategy and options, not uniqueness."""
        data = self.normalised()
        data.pop("unique", None)
        data.pop("reason", None)
        return json.dumps(data, sort_keys=True, default=str, separators=(",", ":"))


@dataclass(frozen=True)
class TableRules:
    """The rules of one table: per-column rules and the default for the others."""

    name: str
    columns: Mapping[str, ColumnRule]
    default: ColumnRule | None = None
    source: str = "<rules>"
    line: int = 0

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}"


@dataclass(frozen=True)
class RuleSet:
    """All rule files of a directory, merged; one TableRules per table."""

    tables: Mapping[str, TableRules]
    files: tuple[str, ...] = ()

    def digest(self) -> str:
        """sha256 hex of the normalised rules: the same decisions give the same digest, wherever written."""
        data = {
            name: {
                "columns": {c: r.normalised() for c, r in sorted(t.columns.items())},
                "default": t.default.normalised() if t.default else None,
            }
            for name, t in sorted(self.tables.items())
        }
        return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()

    def column_rule(self, table: str, column: str) -> ColumnRule | None:
        """The explicit rule of a column, else the table default, else None (no decision)."""
        t = self.tables.get(table)
        if t is None:
            return None
        return t.columns.get(column) or t.default


def load_rules(rules_dir: Path) -> RuleSet:
    """Load and merge every *.yaml / *.yml under a directory; a table defined twice is an error."""
    rules_dir = Path(rules_dir)
    if not rules_dir.is_dir():
        raise RuleError(f"{rules_dir}: masking rules directory not found")
    files = sorted(p for p in rules_dir.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
    tables: dict[str, TableRules] = {}
    for path in files:
        for name, table in load_rule_file(path).items():
            if name in tables:
                raise RuleError(f"{table.where}: table '{name}' is already defined in {tables[name].where}")
            tables[name] = table
    return RuleSet(tables=tables, files=tuple(str(p) for p in files))


def load_rule_file(path: Path) -> dict[str, TableRules]:
    try:
        data = load_yaml_file(path)
    except RuleError:
        raise
    except ConfigError as exc:
        raise RuleError(str(exc)) from None
    return parse_rules(data, str(path))


def parse_rules(data: Any, source: str = "<rules>") -> dict[str, TableRules]:
    """Validate one loaded rule document (`tables: {name: {columns: ..., default: ...}}`)."""
    if data is None:
        return {}
    if not isinstance(data, LineDict):
        raise RuleError(f"{source}:1: expected a mapping with a 'tables' key, got {type_name(data)}")
    _check_keys(data, ("tables",), "the rule file")
    raw_tables = data.get("tables")
    if raw_tables is None:
        return {}
    if not isinstance(raw_tables, LineDict):
        raise RuleError(
            f"{data.where('tables')}: key 'tables': expected a mapping, got {type_name(raw_tables)}"
        )
    result: dict[str, TableRules] = {}
    for name, raw in raw_tables.items():
        line = raw_tables.line_of(name)
        if not isinstance(raw, LineDict):
            raise RuleError(
                f"{source}:{line}: table '{name}': expected a mapping with 'columns' and/or 'default'"
            )
        _check_keys(raw, ("columns", "default"), f"table '{name}'")
        columns: dict[str, ColumnRule] = {}
        raw_cols = raw.get("columns")
        if raw_cols is not None:
            if not isinstance(raw_cols, LineDict):
                raise RuleError(f"{raw.where('columns')}: table '{name}': 'columns' must be a mapping")
            for col, rule in raw_cols.items():
                columns[col] = parse_rule(rule, f"{name}.{col}", source, raw_cols.line_of(col))
        default = None
        if "default" in raw:
            default = parse_rule(raw["default"], f"{name}.default", source, raw.line_of("default"))
            if default.unique:
                raise RuleError(
                    f"{source}:{default.line}: {name}.default: 'unique' is not allowed on a default"
                )
        result[name] = TableRules(name, columns, default, source, line)
    return result


def parse_rule(raw: Any, key: str, source: str, line: int, *, in_json: bool = False) -> ColumnRule:
    """A rule in short form (`redact`), keep form (`{keep: {reason: ...}}`) or full form (`{strategy: ...}`)."""
    if isinstance(raw, str):
        return _build_rule(raw, LineDict(), key, source, line, in_json)
    if not isinstance(raw, LineDict):
        raise RuleError(
            f"{source}:{line}: {key}: expected a strategy name or a mapping, got {type_name(raw)}"
        )
    if "strategy" not in raw:
        if KEEP in raw:
            _check_keys(raw, (KEEP,), key)
            keep = raw[KEEP]
            if keep is True:
                return ColumnRule(KEEP, {}, source=source, line=line)
            if not isinstance(keep, LineDict):
                raise RuleError(
                    f"{raw.where(KEEP)}: {key}: 'keep' expects a mapping like {{reason: \"...\"}}"
                )
            _check_keys(keep, ("reason",), f"{key}.keep")
            reason = keep.get("reason")
            if not isinstance(reason, str) or not reason.strip():
                raise RuleError(f"{keep.where('reason')}: {key}: 'keep.reason' must be a non-empty string")
            return ColumnRule(KEEP, {}, reason=reason.strip(), source=source, line=line)
        raise RuleError(f"{source}:{line}: {key}: missing key 'strategy'")
    name = raw["strategy"]
    if not isinstance(name, str):
        raise RuleError(f"{raw.where('strategy')}: {key}: 'strategy' must be a string, got {type_name(name)}")
    return _build_rule(name, raw, key, source, line, in_json)


def _build_rule(name: str, raw: LineDict, key: str, source: str, line: int, in_json: bool) -> ColumnRule:
    strategy = STRATEGIES.get(name)
    if strategy is None:
        raise RuleError(
            f"{source}:{line}: {key}: unknown strategy '{name}' (known: {', '.join(sorted(STRATEGIES))})"
        )
    if in_json and not strategy.in_json:
        raise RuleError(f"{source}:{line}: {key}: strategy '{name}' is not allowed inside json paths")
    allowed = ("strategy", "unique", "reason", *strategy.options)
    for opt in raw:
        if opt not in allowed:
            raise RuleError(
                f"{raw.where(opt)}: {key}: unknown option '{opt}' for strategy '{name}'"
                f" (allowed: {', '.join(sorted(a for a in allowed if a != 'strategy'))})"
            )
    unique = raw.get("unique", False)
    if not isinstance(unique, bool):
        raise RuleError(
            f"{raw.where('unique')}: {key}: option 'unique' expects true/false, got {type_name(unique)}"
        )
    if unique and not strategy.supports_unique:
        raise RuleError(f"{raw.where('unique')}: {key}: strategy '{name}' cannot produce unique values")
    reason = raw.get("reason")
    if reason is not None and not isinstance(reason, str):
        raise RuleError(
            f"{raw.where('reason')}: {key}: option 'reason' expects a string, got {type_name(reason)}"
        )
    options: dict[str, Any] = {}
    paths: tuple[tuple[str, ColumnRule], ...] = ()
    for opt, spec in strategy.options.items():
        where = raw.where(opt) if opt in raw else f"{source}:{line}"
        if opt not in raw or raw[opt] is None:
            if spec.required:
                raise RuleError(f"{where}: {key}: strategy '{name}' needs option '{opt}'")
            if spec.default is not None:
                options[opt] = _plain(spec.default)
            continue
        value = raw[opt]
        _check_option(value, spec, opt, name, key, where)
        if opt == "paths":
            paths = _parse_paths(value, key, source)
            continue
        options[opt] = _plain(value)
    rule = ColumnRule(name, options, unique, reason, paths, source, line)
    _check_semantics(rule, strategy, key)
    return rule


def _check_option(value: Any, spec: OptionSpec, opt: str, name: str, key: str, where: str) -> None:
    ok = isinstance(value, spec.types) and not (isinstance(value, bool) and bool not in spec.types)
    if not ok:
        expected = " or ".join(TYPE_NAMES.get(t, t.__name__) for t in spec.types)
        raise RuleError(
            f"{where}: {key}: option '{opt}' of strategy '{name}' expects {expected}, got {type_name(value)}"
        )
    if spec.choices and value not in spec.choices:
        raise RuleError(
            f"{where}: {key}: option '{opt}' of strategy '{name}' must be one of {', '.join(spec.choices)},"
            f" got {value!r}"
        )
    if spec.minimum is not None and isinstance(value, int | float) and value < spec.minimum:
        raise RuleError(f"{where}: {key}: option '{opt}' of strategy '{name}' must be >= {spec.minimum}")
    if spec.maximum is not None and isinstance(value, int | float) and value > spec.maximum:
        raise RuleError(f"{where}: {key}: option '{opt}' of strategy '{name}' must be <= {spec.maximum}")


def _check_semantics(rule: ColumnRule, strategy: Strategy, key: str) -> None:
    if strategy.check is not None:
        problem = strategy.check(rule.options)
        if problem:
            raise RuleError(f"{rule.where}: {key}: {problem}")


def _parse_paths(raw: LineDict, key: str, source: str) -> tuple[tuple[str, ColumnRule], ...]:
    from repro.masking.jsonpath import parse_path

    if not raw:
        raise RuleError(f"{raw.where()}: {key}: option 'paths' needs at least one path")
    result = []
    for path, rule in raw.items():
        line = raw.line_of(path)
        try:
            parse_path(path)
        except ValueError as exc:
            raise RuleError(f"{source}:{line}: {key}: invalid json path {path!r}: {exc}") from None
        result.append((path, parse_rule(rule, f"{key} {path}", source, line, in_json=True)))
    return tuple(result)


def _plain(value: Any) -> Any:
    """LineDict/LineList -> plain dict/list (rules are compared, hashed and printed as plain data)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _check_keys(mapping: LineDict, allowed: Iterable[str], what: str) -> None:
    allowed = tuple(allowed)
    for k in mapping:
        if k not in allowed:
            raise RuleError(
                f"{mapping.where(k)}: unknown key '{k}' in {what} (allowed: {', '.join(allowed)})"
            )


# --- fitting rules to a schema --------------------------------------------------------------------------------


def template_fields(template: str) -> list[str]:
    """Column names a template refers to (`{first_name} {last_name}`)."""
    return [name for _, name, _, _ in string.Formatter().parse(template) if name]


@dataclass(frozen=True)
class RuleProblem:
    """A rule that does not fit the schema: stale table/column, bad template reference, key masked apart."""

    kind: str  # "stale", "template", "key"
    table: str
    column: str | None
    source: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.message}"


def find_rule_problems(
    rules: RuleSet, graph: SchemaGraph, tables: Iterable[str] | None = None
) -> list[RuleProblem]:
    """Every way the rules do not fit the reflected schema (restricted to rule tables in `tables` if given)."""
    wanted = set(tables) if tables is not None else None
    problems: list[RuleProblem] = []
    for name, trules in sorted(rules.tables.items()):
        if wanted is not None and name not in wanted:
            continue
        info = graph.tables.get(name)
        if info is None:
            problems.append(
                RuleProblem(
                    "stale", name, None, trules.source, trules.line, f"table '{name}' is not in the schema"
                )
            )
            continue
        for col, rule in trules.columns.items():
            if col not in info.columns:
                problems.append(
                    RuleProblem(
                        "stale",
                        name,
                        col,
                        rule.source,
                        rule.line,
                        f"column '{name}.{col}' is not in the schema",
                    )
                )
                continue
            if rule.strategy == "template":
                problems.extend(_template_problems(rules, name, col, rule, info.columns))
    problems.extend(_key_problems(rules, graph, wanted))
    return problems


def _template_problems(
    rules: RuleSet, table: str, column: str, rule: ColumnRule, columns: list[str]
) -> list[RuleProblem]:
    found = []
    for ref in template_fields(str(rule.options["template"])):
        if ref not in columns:
            found.append(
                RuleProblem(
                    "template",
                    table,
                    column,
                    rule.source,
                    rule.line,
                    f"{table}.{column}: template refers to unknown column '{ref}'",
                )
            )
    seen: set[str] = set()
    todo = [column]
    while todo:  # a template may use other template columns, but never itself through them
        current = todo.pop()
        cur_rule = rules.column_rule(table, current)
        if cur_rule is None or cur_rule.strategy != "template":
            continue
        for ref in template_fields(str(cur_rule.options["template"])):
            if ref == column:
                found.append(
                    RuleProblem(
                        "template",
                        table,
                        column,
                        rule.source,
                        rule.line,
                        f"{table}.{column}: template refers to itself (through '{current}')",
                    )
                )
                return found
            if ref not in seen:
                seen.add(ref)
                todo.append(ref)
    return found


def effective_key_rules(rules: RuleSet, graph: SchemaGraph) -> dict[tuple[str, str], ColumnRule]:
    """Masked key columns, plus every foreign-key column that must follow the column it references."""
    result: dict[tuple[str, str], ColumnRule] = {}
    for name, trules in rules.tables.items():
        info = graph.tables.get(name)
        if info is None:
            continue
        for col in graph.key_columns(name):
            rule = trules.columns.get(col)
            if rule is not None and not rule.is_keep:
                result[(name, col)] = rule
    changed = True
    while changed:  # follow chains: a FK pointing at a FK column pointing at a masked key
        changed = False
        for fk in graph.foreign_keys:
            for col, ref_col in zip(fk.columns, fk.ref_columns, strict=True):
                target = result.get((fk.ref_table, ref_col))
                if target is None or target.strategy == "nullify" or (fk.table, col) in result:
                    continue
                if rules.tables.get(fk.table) and col in rules.tables[fk.table].columns:
                    continue  # an explicit rule: checked by _key_problems
                result[(fk.table, col)] = target
                changed = True
    return result


def _key_problems(rules: RuleSet, graph: SchemaGraph, wanted: set[str] | None) -> list[RuleProblem]:
    found = []
    for fk in graph.foreign_keys:
        if wanted is not None and fk.table not in wanted:
            continue
        for col, ref_col in zip(fk.columns, fk.ref_columns, strict=True):
            own = rules.tables[fk.table].columns.get(col) if fk.table in rules.tables else None
            if own is None or own.strategy == "nullify":
                continue
            target = rules.tables[fk.ref_table].columns.get(ref_col) if fk.ref_table in rules.tables else None
            own_sig = None if own.is_keep else own.signature()
            target_sig = None if target is None or target.is_keep else target.signature()
            if own_sig != target_sig:
                found.append(
                    RuleProblem(
                        "key",
                        fk.table,
                        col,
                        own.source,
                        own.line,
                        f"{fk.table}.{col} references {fk.ref_table}.{ref_col} but is masked differently"
                        " (joins would break): give both the same rule, or leave the foreign key without one",
                    )
                )
    return found


def validate_against_schema(rules: RuleSet, graph: SchemaGraph, tables: Iterable[str] | None = None) -> None:
    """Raise RuleError (file:line) for the first rule that does not fit the schema."""
    problems = find_rule_problems(rules, graph, tables)
    if problems:
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        raise RuleError(f"{problems[0]}{more}")
