"""The two ways copy-user loads Postgres staging give the same result.

With `load.triggers: auto` (the default) and a role that may set session_replication_role, rows are loaded as
the walk finds them, without per-row foreign-key triggers, and every reference is verified once at the end.
With `load.triggers: keep`, or a role that may not, rows are read again table by table, parents first, with
the triggers on. Both must leave the same rows, the same snapshot, and refuse the same broken references.
"""

from __future__ import annotations

import dataclasses
import gc
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from dbtools import demo_settings, dump_database, expected_closure, table_keys

from repro.config import Settings, SubsetSettings
from repro.copy import copy_user
from repro.db import create_engine
from repro.demo import build_demo_database, demo_metadata
from repro.errors import DatabaseError, ReproError
from repro.load import Loader, target_transaction
from repro.load_order import LoadPlan
from repro.masking.engine import MaskingEngine
from repro.schema import reflect
from repro.snapshots.format import SnapshotWriter
from repro.snapshots.restore import open_snapshot
from repro.snapshots.store import open_store

VIRTUAL = [("audit_log", ("actor_id",), "users", ("id",))]
SKIP = {("audit_log", ("reviewer_id",))}


@pytest.fixture
def pg_source(new_database: Any) -> str:
    url = new_database("postgresql", "prod")
    build_demo_database(url, seed=42, users=60)
    return url


def _owner_of_cycle(url: str) -> int:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        value = conn.exec_driver_sql("SELECT min(owner_id) FROM organizations").scalar()
    engine.dispose()
    return int(value)


def _snapshot_rows(settings: Settings, snapshot_id: str) -> dict[str, list[tuple[Any, ...]]]:
    reader = open_snapshot(open_store(settings.snapshots), snapshot_id)
    out: dict[str, list[tuple[Any, ...]]] = {}
    for entry in reader.manifest.tables:
        rows = [r for b in reader.iter_batches(entry.name, 1000) for r in b.rows]
        out[entry.name] = sorted(rows, key=repr)
    return out


@pytest.mark.parametrize("who", ["customer", "org-owner"])
def test_loading_without_triggers_gives_what_loading_with_them_gives(
    who: str, pg_source: str, new_database: Any, tmp_path: Path, mask_salt: str
) -> None:
    user = 7 if who == "customer" else _owner_of_cycle(pg_source)
    results = {}
    for triggers in ("auto", "keep"):
        target = new_database("postgresql", f"stg_{triggers}")
        settings = dataclasses.replace(
            demo_settings(pg_source, target, tmp_path / triggers), load_triggers=triggers
        )
        result = copy_user(settings, user, create_schema=True)
        assert result.snapshot_id is not None
        results[triggers] = (
            dump_database(target),
            result.rows,
            result.plan.load_order,
            _snapshot_rows(settings, result.snapshot_id),
            [
                t.name
                for t in open_snapshot(open_store(settings.snapshots), result.snapshot_id).manifest.tables
            ],
        )
        assert table_keys(target) == expected_closure(pg_source, "users", "id", user, VIRTUAL, SKIP)
    auto, keep = results["auto"], results["keep"]
    assert auto[0] == keep[0]  # staging, row for row
    assert auto[1] == keep[1]  # counts
    assert auto[3] == keep[3]  # snapshot rows
    assert auto[4] == keep[4] == [t for t in auto[2] if auto[1][t]]  # manifest in load order


@pytest.mark.parametrize(("triggers", "checked_at_end"), [("auto", True), ("keep", False)])
def test_the_loader_turns_triggers_off_only_when_asked_and_allowed(
    triggers: str, checked_at_end: bool, new_database: Any
) -> None:
    target = new_database("postgresql", "stg")
    engine = create_engine(target)
    try:
        with target_transaction(engine) as conn:
            loader = Loader(conn, LoadPlan(reflect(conn), []), triggers=triggers)
            assert (loader.references is not None) is checked_at_end
            role = conn.exec_driver_sql("SHOW session_replication_role").scalar()
            assert role == ("replica" if checked_at_end else "origin")
    finally:
        engine.dispose()


def test_a_role_that_may_not_turn_triggers_off_loads_with_them(
    pg_source: str, new_database: Any, tmp_path: Path, mask_salt: str
) -> None:
    target = new_database("postgresql", "stg")
    role = f"repro_stg_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(target, isolation_level="AUTOCOMMIT")
    dbname = sa.make_url(target).database
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE ROLE {role} LOGIN")
        conn.exec_driver_sql(f"ALTER DATABASE {dbname} OWNER TO {role}")
        conn.exec_driver_sql(f"ALTER SCHEMA public OWNER TO {role}")
    admin.dispose()
    try:
        as_role = sa.make_url(target).set(username=role).render_as_string(hide_password=False)
        settings = demo_settings(pg_source, as_role, tmp_path)
        user = _owner_of_cycle(pg_source)  # the organizations <-> users cycle needs the NULL-then-UPDATE path
        copy_user(settings, user, create_schema=True)
        assert table_keys(target) == expected_closure(pg_source, "users", "id", user, VIRTUAL, SKIP)
    finally:
        admin = sa.create_engine(target, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql("ALTER SCHEMA public OWNER TO pg_database_owner")
            conn.exec_driver_sql(f"ALTER DATABASE {dbname} OWNER TO postgres")
            conn.exec_driver_sql(f"REASSIGN OWNED BY {role} TO postgres")
            conn.exec_driver_sql(f"DROP OWNED BY {role}")
            conn.exec_driver_sql(f"DROP ROLE {role}")
        admin.dispose()


def _skipping_products(settings: Settings) -> Settings:
    subset = dataclasses.replace(settings.subset, skip=(*settings.subset.skip, "order_items.product_id"))
    assert isinstance(subset, SubsetSettings)
    return dataclasses.replace(settings, subset=subset)


@pytest.mark.parametrize("staging", ["empty", "with rows"])
@pytest.mark.parametrize("triggers", ["auto", "keep"])
def test_a_reference_to_a_row_staging_lacks_is_refused(
    triggers: str, staging: str, pg_source: str, new_database: Any, tmp_path: Path, mask_salt: str
) -> None:
    """order_items.product_id is skipped but NOT NULL: its products must already be on staging. On empty
    tables the references are checked on the server at the end, on tables with rows from memory."""
    target = new_database("postgresql", "stg")
    settings = dataclasses.replace(demo_settings(pg_source, target, tmp_path), load_triggers=triggers)
    if staging == "empty":
        engine = sa.create_engine(target)
        demo_metadata().create_all(engine)
        engine.dispose()
    else:
        copy_user(settings, 1, create_schema=True)  # user 1's rows
    before = dump_database(target)
    with pytest.raises(DatabaseError, match=r"^writing order_items to staging failed: .*product"):
        copy_user(_skipping_products(settings), 7)
    assert dump_database(target) == before
    copy_user(settings, 7)  # now user 7's products are there ...
    copy_user(_skipping_products(settings), 7)  # ... and the skipped references find them


def _staging_with_user_1(pg_source: str, new_database: Any, tmp_path: Path) -> tuple[Settings, str, Any]:
    """Settings, the staging URL, and the dump of a staging that holds user 1's copy."""
    target = new_database("postgresql", "stg")
    settings = demo_settings(pg_source, target, tmp_path)
    copy_user(settings, 1, create_schema=True)
    return settings, target, dump_database(target)


def test_an_error_in_the_snapshot_thread_stops_the_copy(
    pg_source: str, new_database: Any, tmp_path: Path, mask_salt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, target, before = _staging_with_user_1(pg_source, new_database, tmp_path)
    manifests = sorted(p.name for p in (tmp_path / "snapshots").rglob("manifest.json"))
    calls = {"n": 0}
    original = SnapshotWriter.write

    def failing_write(self: SnapshotWriter, batch: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise ReproError("disk full (injected)")
        original(self, batch)

    monkeypatch.setattr(SnapshotWriter, "write", failing_write)
    with pytest.raises(ReproError, match=r"^disk full \(injected\)$"):
        copy_user(settings, 7)
    assert dump_database(target) == before
    assert sorted(p.name for p in (tmp_path / "snapshots").rglob("manifest.json")) == manifests


def test_an_error_while_masking_stops_the_loading_threads(
    pg_source: str, new_database: Any, tmp_path: Path, mask_salt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, target, before = _staging_with_user_1(pg_source, new_database, tmp_path)
    original = MaskingEngine.mask_batch

    def failing_mask(self: MaskingEngine, table: str, columns: Any, rows: Any) -> Any:
        if table == "payments":
            raise ReproError("masking failed (injected)")
        return original(self, table, columns, rows)

    monkeypatch.setattr(MaskingEngine, "mask_batch", failing_mask)
    with pytest.raises(ReproError, match=r"^masking failed \(injected\)$"):
        copy_user(settings, 7)
    assert dump_database(target) == before


def test_copies_run_with_rare_garbage_collections_and_restore_the_thresholds(
    new_database: Any, tmp_path: Path, mask_salt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, target = new_database("sqlite", "prod"), new_database("sqlite", "stg")
    build_demo_database(source, seed=42, users=20)
    before = gc.get_threshold()
    seen: list[int] = []
    original = MaskingEngine.mask_batch

    def spy(self: MaskingEngine, table: str, columns: Any, rows: Any) -> Any:
        seen.append(gc.get_threshold()[0])
        return original(self, table, columns, rows)

    monkeypatch.setattr(MaskingEngine, "mask_batch", spy)
    copy_user(demo_settings(source, target, tmp_path), 7, create_schema=True)
    assert seen and set(seen) == {50_000}
    assert gc.get_threshold() == before


def test_waiting_batches_of_an_empty_table_share_one_copy(new_database: Any) -> None:
    """`write_all`: consecutive encoded batches of a table empty before the load go in one COPY, with the same
    rows and counts as one write per batch; a table that had rows takes its batches one by one; a bad row in
    a shared COPY is a one-line error naming the table."""
    from repro.masking.batch import sealed_from_snapshot
    from repro.pgcopy import CopyUpserter

    target = new_database("postgresql", "stg")
    engine = create_engine(target)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE a (id integer PRIMARY KEY, note text)")
        conn.exec_driver_sql("CREATE TABLE b (id integer PRIMARY KEY, note text)")
        conn.exec_driver_sql("INSERT INTO b VALUES (1, 'kept')")

    def batch(table: str, ids: range) -> Any:
        return sealed_from_snapshot(table, ("id", "note"), [(i, f"{table}{i}") for i in ids])

    copies: list[int] = []
    original = CopyUpserter.copy_in

    def counting_copy_in(self: CopyUpserter, data: bytes) -> None:
        copies.append(data.count(b"\n"))
        original(self, data)

    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(CopyUpserter, "copy_in", counting_copy_in)
            with target_transaction(engine) as conn:
                loader = Loader(conn, LoadPlan(reflect(conn), []), tables=["a", "b"])
                assert loader.references is not None
                work = [batch("a", range(1, 4)), batch("a", range(4, 6)), batch("b", range(2, 4))]
                work += [batch("b", range(4, 5)), batch("a", range(6, 7))]
                loader.write_all([(w, loader.encode(w)) for w in work])
                loader.finish()
        assert copies == [5]  # a's first two batches; b had rows; a's last batch alone
        assert loader.rows == {"a": 6, "b": 3}
        assert table_keys(target) == {"a": {(i,) for i in range(1, 7)}, "b": {(i,) for i in range(1, 5)}}
        failing = pytest.raises(DatabaseError, match=r"^writing a to staging failed: .*duplicate key")
        with failing, target_transaction(engine) as conn:
            conn.exec_driver_sql("TRUNCATE a")
            loader = Loader(conn, LoadPlan(reflect(conn), []), tables=["a"])
            twice = [batch("a", range(1, 3)), batch("a", range(2, 4))]
            loader.write_all([(w, loader.encode(w)) for w in twice])
        assert len(table_keys(target)["a"]) == 6  # the failed load changed nothing
    finally:
        engine.dispose()


def test_the_loader_stage_takes_the_batches_waiting_together_in_order() -> None:
    """The pipeline hands the loader every batch waiting when it is free (in order, table markers between
    them), and the snapshot stage sees every batch once, in the same order."""
    import threading

    from repro.masking.batch import sealed_from_snapshot
    from repro.pipeline import CopyPipeline

    gate = threading.Event()
    groups: list[list[int]] = []
    seen: list[tuple[str, int]] = []

    def load(works: list[int]) -> list[Any]:
        gate.wait(5)  # the first group waits, so the next batches queue up behind it
        groups.append(list(works))
        return [sealed_from_snapshot("t", ("id",), [(w,)]) for w in works]

    stages = CopyPipeline(load, lambda b: seen.append(("batch", b.rows[0][0])), lambda t: seen.append((t, 0)))
    stages.begin_table("t")
    for n in range(1, 4):
        stages.submit(n)
    gate.set()
    stages.begin_table("u")
    stages.submit(4)
    stages.finish()
    assert [w for g in groups for w in g] == [1, 2, 3, 4]
    assert len(groups) < 4  # some batches went together
    assert seen == [("t", 0), ("batch", 1), ("batch", 2), ("batch", 3), ("u", 0), ("batch", 4)]


def test_names_with_a_percent_sign_on_postgres(new_database: Any) -> None:
    """SQL the loader, the reference checks and the lookups write out themselves (run by psycopg2 with
    parameters, where `%` marks one) take table and column names holding a `%`."""
    from repro.masking.batch import sealed_from_snapshot
    from repro.subset.fetch import count_matches, fetch_chunks

    url = new_database("postgresql", "pct")
    engine = create_engine(url)
    with engine.begin() as conn:  # driver SQL: % doubled
        conn.exec_driver_sql('CREATE TABLE "par%%ent" (id integer PRIMARY KEY, "ra%%te" text)')
        conn.exec_driver_sql(
            'CREATE TABLE "ch%%ild" (id integer PRIMARY KEY, "par%%ent_id" integer REFERENCES "par%%ent" (id))'
        )
        conn.exec_driver_sql("""INSERT INTO "par%%ent" VALUES (100, '5%%')""")
    try:
        with target_transaction(engine) as conn:
            loader = Loader(conn, LoadPlan(reflect(conn), []), tables=["par%ent", "ch%ild"])
            assert loader.references is not None and loader.fresh_table("ch%ild")
            parents = sealed_from_snapshot("par%ent", ("id", "ra%te"), [(1, "a"), (2, "b")])
            children = sealed_from_snapshot("ch%ild", ("id", "par%ent_id"), [(10, 1), (11, 100), (12, 2)])
            loader.write_all([(b, loader.encode(b)) for b in (parents, children)])
            loader.finish()
        assert table_keys(url) == {"par%ent": {(1,), (2,), (100,)}, "ch%ild": {(10,), (11,), (12,)}}
        graph = reflect(engine)
        child = graph.tables["ch%ild"].table
        with engine.connect() as conn:
            rows = [
                r
                for part in fetch_chunks(conn, child, ["id"], ["par%ent_id"], [1, 100], bare=True)
                for r in part
            ]
            assert sorted(rows) == [(10,), (11,)]
            assert count_matches(conn, child, "par%ent_id", [1, 2, 100, 7]) == {1: 1, 2: 1, 100: 1}
    finally:
        engine.dispose()
