"""Where to measure masking speed: values per second of each strategy through `MaskingEngine.mask_batch`."""

from __future__ import annotations

import time
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from repro.masking.engine import MaskingEngine
from repro.masking.rules import RuleSet, parse_rules
from repro.schema import SchemaGraph, TableInfo
from repro.yamlconf import load_yaml_text

# strategy -> (rule in YAML flow style, column type, value maker)
_CASES: dict[str, tuple[str, sa.types.TypeEngine[Any], Any]] = {
    "email": ("{strategy: email}", sa.String(200), lambda i: f"person{i}@corp.test"),
    "email_unique": ("{strategy: email, unique: true}", sa.String(200), lambda i: f"person{i}@corp.test"),
    "faker": ("{strategy: faker, provider: first_name}", sa.String(100), lambda i: f"name{i}"),
    "hash": ("{strategy: hash, length: 24}", sa.String(64), lambda i: f"token-{i}"),
    "partial": (
        "{strategy: partial, keep_last: 2}",
        sa.String(40),
        lambda i: f"+33 6 12 34 {i % 100:02d} 42",
    ),
    "redact": ("redact", sa.Text(), lambda i: f"note {i}"),
    "date_shift": ("{strategy: date_shift}", sa.Date(), lambda i: date(1990, 1, 1 + i % 28)),
    "noise": ("{strategy: noise, relative: 0.1}", sa.Numeric(12, 2), lambda i: Decimal(i) / 100),
    "uuid": ("{strategy: uuid}", sa.String(36), lambda i: f"00000000-0000-4000-8000-{i:012d}"),
    "json": (
        '{strategy: json, paths: {"$.email": {strategy: email}}}',
        sa.JSON(),
        lambda i: {"email": f"p{i}@corp.test", "n": i},
    ),
}


def benchmark_strategies(n: int = 100_000, strategies: list[str] | None = None) -> dict[str, float]:
    """Values per second per strategy, masking n distinct values in batches of 5000 (pools built beforehand)."""
    names = strategies or list(_CASES)
    metadata = sa.MetaData()
    columns = [sa.Column("id", sa.Integer, primary_key=True)]
    columns += [sa.Column(name, _CASES[name][1]) for name in names]
    table = sa.Table("bench", metadata, *columns)
    graph = SchemaGraph(
        tables={"bench": TableInfo("bench", [c.name for c in table.columns], ("id",), table)},
        foreign_keys=[],
        metadata=metadata,
    )
    rule_text = "tables:\n  bench:\n    columns:\n" + "".join(f"      {k}: {_CASES[k][0]}\n" for k in names)
    rules = RuleSet(parse_rules(load_yaml_text(rule_text, "<bench>"), "<bench>"))
    engine = MaskingEngine(rules, graph, "benchmark-salt-not-secret")
    results: dict[str, float] = {}
    for name in names:
        make = _CASES[name][2]
        values = [(make(i),) for i in range(n)]
        engine.mask_batch("bench", [name], values[:10])  # build pools outside the timing
        started = time.perf_counter()
        for start in range(0, n, 5000):
            engine.mask_batch("bench", [name], values[start : start + 5000])
        elapsed = time.perf_counter() - started
        results[name] = n / elapsed if elapsed > 0 else float("inf")
    return results


if __name__ == "__main__":
    for strategy, rate in benchmark_strategies().items():
        print(f"{strategy:14s} {rate:12,.0f} values/s")
