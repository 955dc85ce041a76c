"""What a copy takes, table by table: the report of `repro plan`, and the result of `repro copy-user`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from repro.config import Settings
from repro.db import redact_url
from repro.load_order import plan_load
from repro.schema import SchemaGraph
from repro.subset.plan import SubsetPlan
from repro.subset.rows import Subset


@dataclass
class TablePlan:
    """One table of a copy's plan: how many rows, and how they were reached."""

    table: str
    rows: int
    reached: str  # root, down (depends on the user), parent (needed by copied rows), both


@dataclass
class PlanReport:
    """What a copy takes (or would take): rows per table, edges, load order."""

    root_table: str
    root_key: str
    root_value: Any
    source: str
    tables: list[TablePlan]
    edges: list[dict[str, Any]]
    skipped: list[str]
    load_order: list[str]
    deferred: list[str]

    @property
    def total_rows(self) -> int:
        return sum(t.rows for t in self.tables)

    def to_dict(self) -> dict[str, Any]:
        return {
            "root": {"table": self.root_table, "key": self.root_key, "value": self.root_value},
            "source": self.source,
            "tables": [{"table": t.table, "rows": t.rows, "reached": t.reached} for t in self.tables],
            "total_rows": self.total_rows,
            "edges": self.edges,
            "skipped": self.skipped,
            "load_order": self.load_order,
            "deferred_foreign_keys": self.deferred,
        }


@dataclass
class CopyResult:
    """The outcome of `copy_user`: rows written, snapshot, time taken."""

    plan: PlanReport
    rows: dict[str, int] = field(default_factory=dict)
    elapsed_s: float = 0.0
    dry_run: bool = False
    snapshot_id: str | None = None
    incident: str | None = None
    target: str = ""
    created_tables: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "root": {"table": self.plan.root_table, "key": self.plan.root_key, "value": self.plan.root_value},
            "source": self.plan.source,
            "target": self.target,
            "rows": self.rows,
            "total_rows": sum(self.rows.values()),
            "elapsed_s": round(self.elapsed_s, 3),
            "snapshot": self.snapshot_id,
            "incident": self.incident,
            "created_tables": self.created_tables,
            "plan": self.plan.to_dict(),
        }


def plan_report(settings: Settings, graph: SchemaGraph, plan: SubsetPlan, subset: Subset) -> PlanReport:
    """The report of a walk: its tables in load order, each with how its rows were reached, and its edges."""
    load = plan_load(graph, [t for t, rows in subset.tables.items() if rows])
    tables = []
    for name in load.order:
        tr = subset.tables[name]
        if name == plan.root_table:
            reached = "root"
        elif tr.down_count == len(tr):
            reached = "down"
        elif not tr.down_count:
            reached = "parent"
        else:
            reached = "both"
        tables.append(TablePlan(name, len(tr), reached))
    edges = [
        {
            "edge": e.fk.label,
            "direction": e.direction,
            "forced": e.forced,
            "rows": subset.edge_rows.get((e.fk.label, e.direction), 0),
        }
        for e in plan.edges
    ]
    return PlanReport(
        root_table=plan.root_table,
        root_key=plan.root_key,
        root_value=subset.root_value,
        source=redact_url(settings.source_url),
        tables=tables,
        edges=edges,
        skipped=[fk.label for fk in plan.skipped],
        load_order=load.order,
        deferred=[fk.label for fk in load.deferred],
    )
