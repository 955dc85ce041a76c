"""`copy_user`: plan, extract, mask, snapshot and load one user's data, production -> staging.

Data flows one way (DESIGN.md): the source is read in one read-only transaction; every batch goes through the
masking engine; only masked batches reach the snapshot writer and the loader; the target is written in one
transaction that commits only when everything, snapshot included, succeeded.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection, Engine

from repro.config import Settings, acting_user
from repro.db import create_engine, read_only_snapshot, redact_url
from repro.ddl import create_missing_tables
from repro.load import Loader, LoadPlan, check_target_schema, plan_load, target_transaction
from repro.masking.collisions import resolve_staging_collisions
from repro.masking.engine import MaskingEngine, salt_fingerprint, salt_from_env
from repro.masking.rules import load_rules, validate_against_schema
from repro.schema import SchemaGraph, reflect
from repro.snapshots.format import SnapshotMeta, SnapshotWriter
from repro.snapshots.store import open_store
from repro.subset.extract import Subset, coerce_root_value, collect_subset, iter_rows
from repro.subset.plan import SubsetPlan, plan_subset

Progress = Callable[[str, int], None]  # (table, rows so far)


@dataclass
class TablePlan:
    table: str
    rows: int
    reached: str  # root, down (depends on the user), parent (needed by copied rows), both


@dataclass
class PlanReport:
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


def _plan_report(settings: Settings, graph: SchemaGraph, plan: SubsetPlan, subset: Subset) -> PlanReport:
    load = plan_load(graph, [t for t, rows in subset.tables.items() if rows.rows])
    tables = []
    for name in load.order:
        tr = subset.tables[name]
        if name == plan.root_table:
            reached = "root"
        elif len(tr.down) == len(tr.rows):
            reached = "down"
        elif not tr.down:
            reached = "parent"
        else:
            reached = "both"
        tables.append(TablePlan(name, len(tr.rows), reached))
    edges = [
        {
            "edge": e.fk.label,
            "direction": e.direction,
            "forced": e.forced,
            "rows": subset.edge_rows.get(e.fk.label, 0),
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


def _plan_source(conn: Connection, settings: Settings, user_id: Any) -> tuple[SchemaGraph, SubsetPlan, Any]:
    """Reflect the source, plan the traversal from the root table, and type the root value."""
    graph = reflect(conn, settings.schema, settings.subset.virtual_foreign_keys)
    plan = plan_subset(graph, settings.root_table, settings.root_key, settings.subset)
    return graph, plan, coerce_root_value(graph, settings.root_table, settings.root_key, user_id)


def build_plan(settings: Settings, user_id: Any, *, progress: Progress | None = None) -> PlanReport:
    """Which rows a copy of this user would take, per table; reads the source, writes nothing."""
    engine = create_engine(settings.require_source(), read_only=True)
    try:
        with read_only_snapshot(engine) as conn:
            graph, plan, value = _plan_source(conn, settings, user_id)
            subset = collect_subset(
                conn,
                graph,
                plan,
                value,
                max_rows=settings.subset.max_rows,
                progress=_table_progress(progress),
            )
            return _plan_report(settings, graph, plan, subset)
    finally:
        engine.dispose()


def _table_progress(progress: Progress | None) -> Callable[[str], None] | None:
    """Planning reports tables as it reaches them (no row count yet)."""
    if progress is None:
        return None
    return lambda table: progress(table, -1)


def copy_user(
    settings: Settings,
    user_id: Any,
    *,
    incident: str | None = None,
    dry_run: bool = False,
    create_schema: bool = False,
    snapshot: bool = True,
    progress: Progress | None = None,
) -> CopyResult:
    """Copy one user's rows (masked) from the source to the target; see the module docstring for guarantees."""
    started = time.perf_counter()
    source_url = settings.require_source()
    salt = "" if dry_run else salt_from_env()
    target_url = None if dry_run else settings.require_target()
    rules = load_rules(settings.rules_dir)
    if incident is not None and not dry_run:
        from repro.tracker.service import check_can_reproduce

        check_can_reproduce(settings, incident)
    source = create_engine(source_url, read_only=True)
    target = create_engine(target_url) if target_url else None
    try:
        with read_only_snapshot(source) as sconn:
            graph, plan, value = _plan_source(sconn, settings, user_id)
            validate_against_schema(rules, graph)
            masker = MaskingEngine(
                rules, graph, salt or "dry-run", root_table=settings.root_table, root_key=value
            )
            masker.check_covered(sorted(plan.tables))  # fail closed before any row is read
            subset = collect_subset(
                conn=sconn, graph=graph, plan=plan, root_value=value, max_rows=settings.subset.max_rows
            )
            report = _plan_report(settings, graph, plan, subset)
            if dry_run or target is None:
                counts = {t.table: t.rows for t in report.tables}
                return CopyResult(
                    plan=report,
                    rows=counts,
                    elapsed_s=time.perf_counter() - started,
                    dry_run=True,
                    incident=incident,
                )
            result = CopyResult(plan=report, incident=incident, target=redact_url(target_url))
            result.created_tables, target_graph = _prepare_target(
                target, graph, report, create_schema, settings
            )
            load_plan = plan_load(target_graph, report.load_order)
            writer = (
                _snapshot_writer(settings, graph, subset, rules.digest(), salt, result) if snapshot else None
            )
            _stream(
                settings,
                sconn,
                graph,
                plan,
                subset,
                masker,
                target,
                target_graph,
                load_plan,
                result,
                writer,
                progress,
            )
    finally:
        source.dispose()
        if target is not None:
            target.dispose()
    result.elapsed_s = time.perf_counter() - started
    if incident is not None:
        from repro.tracker.service import record_reproduction

        record_reproduction(
            settings,
            incident,
            snapshot_id=result.snapshot_id,
            root=f"{settings.root_table}.{settings.root_key}={value}",
            rows=sum(result.rows.values()),
            elapsed_s=result.elapsed_s,
            by=acting_user(),
        )
    return result


def _prepare_target(
    target: Engine, graph: SchemaGraph, report: PlanReport, create_schema: bool, settings: Settings
) -> tuple[list[str], SchemaGraph]:
    """Create missing tables if asked, then check the target has every table and column the copy writes."""
    needed = {t.table: graph.table(t.table).columns for t in report.tables}
    created: list[str] = []
    if create_schema:
        created = create_missing_tables(target, graph, needed)
    target_graph = reflect(target, settings.schema)
    check_target_schema(target_graph, needed)
    return created, target_graph


def _stream(
    settings: Settings,
    sconn: Connection,
    graph: SchemaGraph,
    plan: SubsetPlan,
    subset: Subset,
    masker: MaskingEngine,
    target: Engine,
    target_graph: SchemaGraph,
    load_plan: LoadPlan,
    result: CopyResult,
    writer: SnapshotWriter | None,
    progress: Progress | None,
) -> None:
    """Extract -> mask -> (snapshot, load), table by table in load order, inside one target transaction."""
    try:
        with target_transaction(target) as tconn:
            loader = Loader(tconn, load_plan)
            for table in load_plan.order:
                info = graph.table(table)
                if writer is not None:
                    writer.add_table(
                        table,
                        [(c, info.table.c[c].type) for c in info.columns],
                        primary_key=info.primary_key,
                        foreign_keys=graph.parents_of(table),
                    )
                copied = 0
                for columns, rows in iter_rows(sconn, graph, plan, subset, table, settings.subset.batch_size):
                    batch = masker.mask_batch(table, columns, rows)
                    batch = resolve_staging_collisions(
                        tconn,
                        target_graph.table(table).table,
                        target_graph.table(table).primary_key,
                        masker,
                        batch,
                        rows,
                    )
                    if writer is not None:
                        writer.write(batch)
                    loader.write(batch)
                    copied += len(batch)
                    if progress is not None:
                        progress(table, copied)
            load_result = loader.finish()
            result.rows = {t: load_result.rows.get(t, 0) for t in load_plan.order}
            if writer is not None:
                writer.commit()  # the snapshot is complete before staging commits
                result.snapshot_id = writer.snapshot_id
    except BaseException:
        # Also after its commit: the snapshot of a copy that never reached staging must not stay listed.
        if writer is not None:
            writer.abort()
            result.snapshot_id = None
        raise


def _snapshot_writer(
    settings: Settings, graph: SchemaGraph, subset: Subset, rules_hash: str, salt: str, result: CopyResult
) -> SnapshotWriter:
    meta = SnapshotMeta(
        root_table=subset.root_table,
        root_key=settings.root_key,
        root_value=str(subset.root_value),
        incident=result.incident,
        source_dialect="mysql" if graph.dialect == "mariadb" else graph.dialect,
        schema_fingerprint=graph.fingerprint([t.table for t in result.plan.tables]),
        rules_hash=rules_hash,
        salt_fingerprint=salt_fingerprint(salt),
        created_by=acting_user(),
    )
    return SnapshotWriter(open_store(settings.snapshots), meta)
