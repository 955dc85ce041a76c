"""`copy_user`: plan, extract, mask, snapshot and load one user's data, production -> staging.

Data flows one way (DESIGN.md): the source is read in one read-only transaction; every batch goes through the
masking engine; only masked batches reach the snapshot writer and the loader; the target is written in one
transaction that commits only when everything, snapshot included, succeeded.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection, Engine

from repro.config import Settings, acting_user
from repro.db import create_engine, read_only_snapshot, redact_url
from repro.ddl import create_missing_tables
from repro.load import Loader, LoadResult, check_target_schema, target_transaction
from repro.load_order import LoadPlan, plan_load
from repro.masking.batch import MaskedBatch
from repro.masking.collisions import resolve_staging_collisions
from repro.masking.engine import MaskingEngine, salt_fingerprint, salt_from_env
from repro.masking.rules import load_rules, validate_against_schema
from repro.pipeline import CopyPipeline, few_collections
from repro.plan_report import CopyResult, PlanReport, plan_report
from repro.schema import SchemaGraph, reflect
from repro.snapshots.format import SnapshotMeta, SnapshotWriter
from repro.snapshots.store import open_store
from repro.subset.extract import coerce_root_value, collect_subset
from repro.subset.plan import SubsetPlan, plan_subset
from repro.subset.rows import iter_rows, streamed_tables

Progress = Callable[[str, int], None]  # (table, rows so far)


def _plan_source(conn: Connection, settings: Settings, user_id: Any) -> tuple[SchemaGraph, SubsetPlan, Any]:
    """Reflect the source, plan the traversal from the root table, and type the root value."""
    graph = reflect(conn, settings.schema, settings.subset.virtual_foreign_keys)
    plan = plan_subset(graph, settings.root_table, settings.root_key, settings.subset)
    return graph, plan, coerce_root_value(graph, settings.root_table, settings.root_key, user_id)


@few_collections()
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
            return plan_report(settings, graph, plan, subset)
    finally:
        engine.dispose()


def _table_progress(progress: Progress | None) -> Callable[[str], None] | None:
    """Planning reports tables as it reaches them (no row count yet)."""
    if progress is None:
        return None
    return lambda table: progress(table, -1)


@few_collections()
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
    # The target's schema is read meanwhile, on its own connection: both databases answer at the same time.
    background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="repro-target")
    target_schema = background.submit(reflect, target, settings.schema) if target is not None else None
    try:
        with read_only_snapshot(source) as sconn:
            graph, plan, value = _plan_source(sconn, settings, user_id)
            validate_against_schema(rules, graph)
            masker = MaskingEngine(
                rules, graph, salt or "dry-run", root_table=settings.root_table, root_key=value
            )
            masker.check_covered(sorted(plan.tables))  # fail closed before any row is read
            if dry_run or target is None:
                subset = collect_subset(
                    conn=sconn, graph=graph, plan=plan, root_value=value, max_rows=settings.subset.max_rows
                )
                report = plan_report(settings, graph, plan, subset)
                counts = {t.table: t.rows for t in report.tables}
                return CopyResult(
                    plan=report,
                    rows=counts,
                    elapsed_s=time.perf_counter() - started,
                    dry_run=True,
                    incident=incident,
                )
            assert target_schema is not None
            created, target_graph = _prepare_target(
                target, graph, sorted(plan.tables), create_schema, settings, target_schema
            )
            writer = (
                _snapshot_writer(settings, graph, value, incident, rules.digest(), salt) if snapshot else None
            )
            job = _CopyJob(settings, sconn, graph, plan, value, masker, target_graph, writer, progress)
            report, load_result = job.run(target)
            result = CopyResult(
                plan=report,
                incident=incident,
                target=redact_url(target_url),
                created_tables=created,
                rows={t: load_result.rows.get(t, 0) for t in report.load_order},
                snapshot_id=writer.snapshot_id if writer is not None else None,
            )
    finally:
        background.shutdown(wait=True)
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
    target: Engine,
    graph: SchemaGraph,
    tables: list[str],
    create_schema: bool,
    settings: Settings,
    reflected: Future[SchemaGraph],
) -> tuple[list[str], SchemaGraph]:
    """Create missing tables if asked, then check the target has every table and column the copy may write
    (`reflected`: the target's schema as read before)."""
    needed = {t: graph.table(t).columns for t in tables}
    created: list[str] = []
    if create_schema:
        wait([reflected])
        created = create_missing_tables(target, graph, needed)
    target_graph = reflect(target, settings.schema) if created else reflected.result()
    check_target_schema(target_graph, needed)
    return created, target_graph


@dataclass
class _CopyJob:
    """Extract -> mask -> (snapshot, load), inside one target transaction.

    Reading and masking run in the caller's thread; loading in another (which re-masks unique values that
    collide with staging rows, under the same lock as masking), snapshot writing in a third (repro.pipeline).
    When the loader checks foreign keys once at the end (Postgres staging, see repro.load.Loader), rows are
    handed on as the walk finds them, so each is read once; otherwise the walk collects keys first and the
    rows are read table by table in load order, parents first.
    """

    settings: Settings
    sconn: Connection
    graph: SchemaGraph
    plan: SubsetPlan
    root_value: Any
    masker: MaskingEngine
    target_graph: SchemaGraph
    writer: SnapshotWriter | None
    progress: Progress | None

    def run(self, target: Engine) -> tuple[PlanReport, LoadResult]:
        writer = self.writer
        try:
            with target_transaction(target) as tconn:
                loader = Loader(
                    tconn,
                    LoadPlan(self.target_graph, []),
                    triggers=self.settings.load_triggers,
                    tables=self.plan.tables,
                )
                report = self._stream(tconn, loader)
                load_result = loader.finish()
                if writer is not None:  # the snapshot is complete before staging commits
                    writer.commit(
                        order=report.load_order,
                        schema_fingerprint=self.graph.fingerprint([t.table for t in report.tables]),
                    )
        except BaseException:
            # Also after its commit: the snapshot of a copy that never reached staging must not stay listed.
            if writer is not None:
                writer.abort()
            raise
        return report, load_result

    def _stream(self, tconn: Connection, loader: Loader) -> PlanReport:
        settings, graph, plan, masker = self.settings, self.graph, self.plan, self.masker
        begun: set[str] = set()
        mask_lock = threading.Lock()  # collisions re-mask values in the loader thread

        def load(
            works: list[tuple[MaskedBatch, list[tuple[Any, ...]] | None, bytes | None]],
        ) -> list[MaskedBatch]:
            ready: list[tuple[MaskedBatch, bytes | None]] = []
            for batch, rows, data in works:
                info = self.target_graph.table(batch.table)
                # Rows travel with a batch only where staging rows may collide with its unique values.
                if rows is not None and not loader.fresh_table(batch.table):
                    with mask_lock:
                        batch = resolve_staging_collisions(
                            tconn, info.table, info.primary_key, masker, batch, rows
                        )
                ready.append((batch, data))
            loader.write_all(ready)
            if self.progress is not None:
                for table in dict.fromkeys(batch.table for batch, _ in ready):
                    self.progress(table, loader.rows.get(table, 0))
            return [batch for batch, _ in ready]

        def submit(table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
            if table not in begun:
                begun.add(table)
                stages.begin_table(table)
            with mask_lock:
                batch = masker.mask_batch(table, columns, rows)
            if table in fresh:
                # No collision can change the batch: its COPY data is made here, the loader only sends it.
                stages.submit((batch, None, loader.encode(batch)))
            else:
                stages.submit((batch, rows, None))  # the originals, to re-mask colliding unique values

        writer = self.writer
        stages = CopyPipeline(
            load,
            writer.write if writer is not None else None,
            self._add_snapshot_table if writer is not None else None,
        )
        streaming = loader.references is not None
        # Tables empty before the copy (known at once when streaming; else asked as each is first loaded).
        fresh = {t for t in plan.tables if loader.fresh_table(t)} if streaming else set()
        try:
            subset = collect_subset(
                self.sconn,
                graph,
                plan,
                self.root_value,
                max_rows=settings.subset.max_rows,
                sink=submit if streaming else None,
                batch_size=settings.subset.batch_size,
            )
            report = plan_report(settings, graph, plan, subset)
            if not streaming:
                loader.plan = plan_load(self.target_graph, report.load_order)
            held = set(plan.tables) - streamed_tables(graph, plan) if streaming else set(plan.tables)
            for table in report.load_order:
                if table in held:
                    for columns, rows in iter_rows(
                        self.sconn, graph, plan, subset, table, settings.subset.batch_size
                    ):
                        submit(table, columns, rows)
            stages.finish()
        except BaseException:
            stages.abort()
            raise
        return report

    def _add_snapshot_table(self, table: str) -> None:
        info = self.graph.table(table)
        assert self.writer is not None
        self.writer.add_table(
            table,
            [(c, info.table.c[c].type) for c in info.columns],
            primary_key=info.primary_key,
            foreign_keys=self.graph.parents_of(table),
        )


def _snapshot_writer(
    settings: Settings,
    graph: SchemaGraph,
    root_value: Any,
    incident: str | None,
    rules_hash: str,
    salt: str,
) -> SnapshotWriter:
    meta = SnapshotMeta(
        root_table=settings.root_table,
        root_key=settings.root_key,
        root_value=str(root_value),
        incident=incident,
        source_dialect="mysql" if graph.dialect == "mariadb" else graph.dialect,
        schema_fingerprint="",  # set at commit, from the tables the copy took
        rules_hash=rules_hash,
        salt_fingerprint=salt_fingerprint(salt),
        created_by=acting_user(),
    )
    return SnapshotWriter(open_store(settings.snapshots), meta)
