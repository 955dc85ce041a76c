"""Apply the rules to row batches: deterministic, unique where asked, fail closed on any undecided column."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from repro.errors import MissingSaltError, RuleError, UnmaskedColumnError
from repro.masking.batch import MaskedBatch, _seal
from repro.masking.context import MaskContext, derive_key
from repro.masking.rules import (
    ColumnRule,
    RuleSet,
    effective_key_rules,
    template_fields,
    validate_against_schema,
)
from repro.masking.strategies import STRATEGIES, Masker, StrategyValueError, build_masker
from repro.schema import SchemaGraph

SALT_ENV = "REPRO_MASK_SALT"
MIN_SALT_LENGTH = 8
MAX_ATTEMPTS = 1000
IMPLICIT_KEY = ColumnRule("keep", reason="primary/foreign key column", source="<schema>")


def salt_from_env(env: Mapping[str, str] | None = None) -> str:
    """The masking salt from REPRO_MASK_SALT; never from YAML, never printed."""
    env = os.environ if env is None else env
    salt = env.get(SALT_ENV, "")
    how = "set it with `export REPRO_MASK_SALT=$(openssl rand -hex 32)` and keep the same value across runs"
    if not salt.strip():
        raise MissingSaltError(f"{SALT_ENV} is not set: masking needs a secret salt; {how}")
    if len(salt) < MIN_SALT_LENGTH:
        raise MissingSaltError(f"{SALT_ENV} is too short (at least {MIN_SALT_LENGTH} characters); {how}")
    return salt


def salt_fingerprint(salt: str) -> str:
    """A short id telling whether two runs used the same salt, from which the salt cannot be recovered."""
    return hashlib.blake2b(salt.encode("utf-8"), digest_size=6, person=b"repro-salt-fp").hexdigest()


@dataclass
class _Step:
    """One column masked by a strategy, at its position in the batch's rows."""

    index: int
    column: str
    rule: ColumnRule
    masker: Masker
    masks_null: bool
    max_length: int | None
    unique: bool
    chosen: dict[Any, int] | None  # original -> attempt, shared by every column with the same signature


@dataclass
class _TemplateStep:
    """One column built from a template of other (masked) columns."""

    index: int
    column: str
    rule: ColumnRule
    template: str
    fields: list[tuple[str, int]]
    max_length: int | None


@dataclass
class _Plan:
    """How one table's batches are masked: strategy steps first, then templates."""

    steps: list[_Step]
    templates: list[_TemplateStep]


class MaskingEngine:
    """Masks batches of one schema with one rule set and one salt; remembers unique values within the run."""

    def __init__(
        self,
        rules: RuleSet,
        graph: SchemaGraph,
        salt: str,
        *,
        root_table: str = "users",
        root_key: object = None,
    ) -> None:
        if not salt:
            raise MissingSaltError(f"{SALT_ENV} is not set: masking needs a secret salt")
        validate_against_schema(rules, graph, [t for t in rules.tables if t in graph.tables])
        self.rules = rules
        self.graph = graph
        root_seed = f"{root_table}:{root_key}".encode() if root_key is not None else None
        self._ctx = MaskContext(derive_key(salt), root_seed)
        self._key_rules = effective_key_rules(rules, graph)
        self._maskers: dict[str, Masker] = {}
        self._plans: dict[tuple[str, tuple[str, ...]], _Plan] = {}
        self._seen: dict[tuple[str, str], dict[Any, Any]] = {}
        self._unique_signatures = {
            r.signature()
            for table in graph.tables
            for col in graph.tables[table].columns
            if (r := self.decision(table, col)) is not None and self._is_unique(table, col, r)
        }

    # --- decisions ---------------------------------------------------------------------------------------------

    def decision(self, table: str, column: str) -> ColumnRule | None:
        """What happens to a column: its rule, the masking of the key it references, keep for keys, the default."""
        key_rule = self._key_rules.get((table, column))
        if key_rule is not None:
            return key_rule
        trules = self.rules.tables.get(table)
        if trules is not None and column in trules.columns:
            return trules.columns[column]
        if table in self.graph.tables and column in self.graph.key_columns(table):
            return IMPLICIT_KEY
        return trules.default if trules is not None else None

    def uncovered_columns(self, tables: Iterable[str]) -> list[str]:
        """`table.column` of every column without a decision, sorted."""
        missing = []
        for table in tables:
            for col in self.graph.table(table).columns:
                if self.decision(table, col) is None:
                    missing.append(f"{table}.{col}")
        return sorted(missing)

    def check_covered(self, tables: Iterable[str]) -> None:
        missing = self.uncovered_columns(tables)
        if missing:
            raise UnmaskedColumnError(missing)

    def unique_columns(self, table: str) -> list[str]:
        """Masked columns whose output must stay unique (unique: true, or a masked single-column key)."""
        info = self.graph.table(table)
        return sorted(
            c
            for c in info.columns
            if (r := self.decision(table, c)) is not None and self._is_unique(table, c, r)
        )

    def _is_unique(self, table: str, column: str, rule: ColumnRule) -> bool:
        if rule.is_keep or rule.strategy == "nullify":
            return False
        if rule.unique:
            return True
        info = self.graph.tables[table]
        single = [info.primary_key, *info.unique]
        return STRATEGIES[rule.strategy].supports_unique and (column,) in single

    # --- masking -----------------------------------------------------------------------------------------------

    def mask_batch(self, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> MaskedBatch:
        """Mask rows of one table (columns in the given order); refuses any column without a decision."""
        plan = self._plan(table, tuple(columns))
        if not plan.steps and not plan.templates:  # every column kept as is
            return _seal(table, columns, [tuple(row) for row in rows])
        if not rows:
            return _seal(table, columns, [])
        # Column by column: each rule runs over its whole column (per-column state, so the same values).
        cells: list[Sequence[Any]] = list(zip(*rows, strict=True))
        step: _Step | _TemplateStep | None = None
        try:
            for step in plan.steps:
                cells[step.index] = self._mask_column(table, step, cells[step.index])
            for step in plan.templates:
                originals = [row[step.index] for row in rows]
                fields = [(f, cells[i]) for f, i in step.fields]
                cells[step.index] = [
                    None if original is None else self._format(step, {f: col[n] for f, col in fields})
                    for n, original in enumerate(originals)
                ]
        except StrategyValueError as exc:
            assert step is not None
            raise RuleError(f"{step.rule.where}: {table}.{step.column}: {exc}") from None
        out_rows = list(zip(*cells, strict=True))
        return _seal(table, columns, out_rows)

    def _mask_column(self, table: str, step: _Step, values: Sequence[Any]) -> list[Any]:
        keep_null = not step.masks_null
        masker, chosen, limit = step.masker, step.chosen, step.max_length
        if step.unique:
            return self._unique_column(table, step, values, keep_null)
        if chosen:
            out = [
                None if value is None and keep_null else masker(value, chosen.get(value, 0))
                for value in values
            ]
        else:
            out = [None if value is None and keep_null else masker(value, 0) for value in values]
        if limit is not None:
            out = [v[:limit] if type(v) is str and len(v) > limit else v for v in out]
        return out

    def mask_value(
        self, table: str, column: str, columns: Sequence[str], original_row: tuple[Any, ...], attempt: int = 0
    ) -> Any:
        """The masked value of one cell; attempt > 0 gives the next deterministic alternative not used in this run."""
        rule = self.decision(table, column)
        if rule is None:
            raise UnmaskedColumnError([f"{table}.{column}"])
        index = list(columns).index(column)
        value = original_row[index]
        if rule.is_keep:
            return value
        if rule.strategy == "template":
            if value is None:
                return None
            fields = template_fields(str(rule.options["template"]))
            for name in fields:
                if name not in columns:
                    raise RuleError(
                        f"{rule.where}: template of {table}.{column} needs column '{name}' in the batch"
                    )
            values = {f: self.mask_value(table, f, columns, original_row) for f in fields}
            return self._format(self._template_step(table, column, rule, list(columns)), values)
        step = self._step(table, column, index, rule)
        if value is None and not step.masks_null:
            return None
        try:
            if step.unique:
                return self._unique_value(table, step, value, attempt)
            if attempt and step.chosen is not None:
                step.chosen[value] = attempt
            masked = step.masker(value, attempt or (step.chosen.get(value, 0) if step.chosen else 0))
        except StrategyValueError as exc:
            raise RuleError(f"{rule.where}: {table}.{column}: {exc}") from None
        return self._fit(masked, step.max_length)

    def _unique_column(self, table: str, step: _Step, values: Sequence[Any], keep_null: bool) -> list[Any]:
        """`_unique_value` of each value (attempt 0), with its first try inline: most values take it."""
        seen = self._seen.setdefault((table, step.column), {})
        chosen = step.chosen
        masker, limit = step.masker, step.max_length
        out: list[Any] = []
        append = out.append
        for value in values:
            if value is None and keep_null:
                append(None)
                continue
            masked = masker(value, chosen.get(value, 0) if chosen else 0)
            if limit is not None and isinstance(masked, str) and len(masked) > limit:
                masked = masked[:limit]  # as _fit
            owner = seen.get(masked, seen)  # `seen` itself marks "absent": no original is that dict
            if owner is seen or owner == value:
                seen[masked] = value
                append(masked)
            else:  # taken by another value: the next alternatives
                append(self._unique_value(table, step, value, 0))
        return out

    def _unique_value(self, table: str, step: _Step, value: Any, attempt: int) -> Any:
        seen = self._seen.setdefault((table, step.column), {})
        chosen = step.chosen if step.chosen is not None else {}
        current = attempt or chosen.get(value, 0)
        for _ in range(MAX_ATTEMPTS):
            masked = self._fit(step.masker(value, current), step.max_length)
            owner = seen.get(masked, seen)  # `seen` itself marks "absent": no original is that dict
            if owner is seen or owner == value:
                seen[masked] = value
                if current:
                    chosen[value] = current
                return masked
            current += 1
        raise RuleError(
            f"{step.rule.where}: {table}.{step.column}: no unique masked value after {MAX_ATTEMPTS} attempts"
            " (the strategy has too few distinct values: raise pool_size or length)"
        )

    @staticmethod
    def _fit(value: Any, max_length: int | None) -> Any:
        if max_length is not None and isinstance(value, str) and len(value) > max_length:
            return value[:max_length]
        return value

    @staticmethod
    def _format(step: _TemplateStep, values: dict[str, Any]) -> str:
        text = step.template.format_map({k: "" if v is None else v for k, v in values.items()})
        return text[: step.max_length] if step.max_length is not None else text

    # --- plans -------------------------------------------------------------------------------------------------

    def _plan(self, table: str, columns: tuple[str, ...]) -> _Plan:
        plan = self._plans.get((table, columns))
        if plan is not None:
            return plan
        decisions = {c: self.decision(table, c) for c in columns}
        missing = [f"{table}.{c}" for c, r in decisions.items() if r is None]
        if missing:
            raise UnmaskedColumnError(missing)
        steps: list[_Step] = []
        templates: list[_TemplateStep] = []
        for index, col in enumerate(columns):
            rule = decisions[col]
            assert rule is not None
            if rule.is_keep:
                continue
            if rule.strategy == "template":
                templates.append(self._template_step(table, col, rule, list(columns)))
            else:
                steps.append(self._step(table, col, index, rule))
        plan = _Plan(steps, _order_templates(templates))
        self._plans[(table, columns)] = plan
        return plan

    def _step(self, table: str, column: str, index: int, rule: ColumnRule) -> _Step:
        signature = rule.signature()
        masker = self._maskers.get(signature)
        if masker is None:
            masker = build_masker(rule, self._ctx, null_safe=False)
            self._maskers[signature] = masker
        chosen = self._ctx.chosen.setdefault(signature, {}) if signature in self._unique_signatures else None
        return _Step(
            index,
            column,
            rule,
            masker,
            STRATEGIES[rule.strategy].masks_null,
            self._max_length(table, column),
            self._is_unique(table, column, rule),
            chosen,
        )

    def _template_step(self, table: str, column: str, rule: ColumnRule, columns: list[str]) -> _TemplateStep:
        template = str(rule.options["template"])
        fields = []
        for name in template_fields(template):
            if name not in columns:
                raise RuleError(
                    f"{rule.where}: template of {table}.{column} needs column '{name}' in the batch"
                )
            fields.append((name, columns.index(name)))
        return _TemplateStep(
            columns.index(column), column, rule, template, fields, self._max_length(table, column)
        )

    def _max_length(self, table: str, column: str) -> int | None:
        length = getattr(self.graph.table(table).column_type(column), "length", None)
        return length if isinstance(length, int) and length > 0 else None


def _order_templates(steps: list[_TemplateStep]) -> list[_TemplateStep]:
    """Templates that use other template columns run after them (cycles were refused by validation)."""
    by_column = {s.column: s for s in steps}
    ordered: list[_TemplateStep] = []
    done: set[str] = set()

    def visit(step: _TemplateStep) -> None:
        if step.column in done:
            return
        done.add(step.column)
        for name, _ in step.fields:
            if name in by_column:
                visit(by_column[name])
        ordered.append(step)

    for step in steps:
        visit(step)
    return ordered
