"""Build the production-like benchmark databases of `make bench` (PostgreSQL, demo schema, generate_series only).

A database is built once per name: a finished build leaves a marker row in `bench_meta.build` (a schema repro
never reflects); a later run with the same shape skips the build, a different shape or an interrupted build
rebuilds it. Foreign keys, unique constraints and secondary indexes are dropped after `create_all` and recreated
after the load (much faster than maintaining them row by row); every foreign-key column gets an index, as in
production. The rows themselves come from bench_data.py.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any

import psycopg2
import psycopg2.extensions
import sqlalchemy as sa
from bench_data import Shape, load_statements, sequence_statements

from repro.demo import demo_metadata

PG_HOST = "127.0.0.1"
PG_PORT = 5432
PG_USER = "postgres"
MARKER_SCHEMA = "bench_meta"
BUILD_WORK_MEM = "32MB"  # modest: the machine is shared
BUILD_MAINTENANCE_WORK_MEM = "256MB"


# ---------------------------------------------------------------- building


def pg_url(database: str) -> str:
    return f"postgresql+psycopg2://{PG_USER}@{PG_HOST}:{PG_PORT}/{database}"


def pg_connect(database: str) -> psycopg2.extensions.connection:
    return psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=database)


def database_exists(name: str) -> bool:
    conn = pg_connect("postgres")
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            return cur.fetchone() is not None
    finally:
        conn.close()


def build_info(name: str) -> dict[str, Any] | None:
    """The marker of a finished build of `name` (shape, built_at, elapsed_s), or None: absent or unfinished."""
    if not database_exists(name):
        return None
    conn = pg_connect(name)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT to_regclass(%s)", (f"{MARKER_SCHEMA}.build",))
            row = cur.fetchone()
            if row is None or row[0] is None:
                return None
            cur.execute(
                f"SELECT shape, built_at, elapsed_s FROM {MARKER_SCHEMA}.build ORDER BY built_at DESC LIMIT 1"
            )
            found = cur.fetchone()
            if found is None:
                return None
            return {"shape": dict(found[0]), "built_at": found[1], "elapsed_s": float(found[2])}
    finally:
        conn.close()


def admin_execute(*statements: str) -> None:
    conn = pg_connect("postgres")
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            for sql in statements:
                cur.execute(sql)
    finally:
        conn.close()


def create_empty_schema_database(name: str) -> None:
    """A fresh database `name` holding the demo tables (no rows): the staging template."""
    admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    engine = sa.create_engine(pg_url(name))
    try:
        demo_metadata().create_all(engine)
    finally:
        engine.dispose()


Log = Callable[[str], None]


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def ensure_database(shape: Shape, *, log: Log = _stderr, rebuild: bool = False) -> float | None:
    """Build `shape` unless an identical finished build exists; returns the build time, None when cached."""
    built = None if rebuild else build_info(shape.name)
    if built is not None and built["shape"] == shape.fingerprint():
        log(f"  {shape.name}: cached (built earlier with the same shape)")
        return None
    started = time.perf_counter()
    log(f"  {shape.name}: building {shape.users:,} users, {shape.total_orders:,} orders ...")
    create_empty_schema_database(shape.name)
    conn = pg_connect(shape.name)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f"SET work_mem = '{BUILD_WORK_MEM}'")
            cur.execute(f"SET maintenance_work_mem = '{BUILD_MAINTENANCE_WORK_MEM}'")
            cur.execute("SET synchronous_commit = off")
            cur.execute("SET max_parallel_workers_per_gather = 0")
            cur.execute("SET max_parallel_maintenance_workers = 0")
            recreate = _drop_secondary_structures(cur)
            for label, sql in load_statements(shape):
                t0 = time.perf_counter()
                cur.execute(sql)
                log(f"    {label}: {cur.rowcount:,} rows in {time.perf_counter() - t0:.1f}s")
            for sql in sequence_statements(demo_metadata()):
                cur.execute(sql)
            t0 = time.perf_counter()
            for sql in recreate:
                cur.execute(sql)
            log(f"    indexes, unique and foreign keys: {len(recreate)} in {time.perf_counter() - t0:.1f}s")
            t0 = time.perf_counter()
            cur.execute("VACUUM (ANALYZE)")
            log(f"    vacuum analyze: {time.perf_counter() - t0:.1f}s")
            elapsed = time.perf_counter() - started
            cur.execute(f"CREATE SCHEMA {MARKER_SCHEMA}")
            cur.execute(
                f"CREATE TABLE {MARKER_SCHEMA}.build (shape jsonb NOT NULL, built_at timestamptz NOT NULL "
                "DEFAULT now(), elapsed_s double precision NOT NULL)"
            )
            cur.execute(
                f"INSERT INTO {MARKER_SCHEMA}.build (shape, elapsed_s) VALUES (%s, %s)",
                (json.dumps(shape.fingerprint()), elapsed),
            )
    finally:
        conn.close()
    log(f"  {shape.name}: built in {elapsed:.0f}s")
    return elapsed


def _drop_secondary_structures(cur: psycopg2.extensions.cursor) -> list[str]:
    """Drop foreign keys, unique constraints and non-key indexes; return the SQL that recreates them.

    The recreation also indexes every foreign-key column that has no index of its own.
    """
    cur.execute(
        """SELECT c.conrelid::regclass::text, c.conname, c.contype, pg_get_constraintdef(c.oid)
           FROM pg_constraint c WHERE c.connamespace = 'public'::regnamespace AND c.contype IN ('f', 'u')
           ORDER BY c.contype DESC, 1, 2"""
    )
    constraints = cur.fetchall()
    cur.execute(
        """SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i
           JOIN pg_class t ON t.oid = i.indrelid
           WHERE t.relnamespace = 'public'::regnamespace AND NOT i.indisprimary
             AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)"""
    )
    indexes = cur.fetchall()
    cur.execute(
        """SELECT c.conrelid::regclass::text, a.attname FROM pg_constraint c
           JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
           WHERE c.connamespace = 'public'::regnamespace AND c.contype = 'f'
             AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.conrelid AND i.indkey[0] = c.conkey[1])"""
    )
    unindexed = cur.fetchall()
    for table, name, _kind, _definition in constraints:
        cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _definition in indexes:
        cur.execute(f"DROP INDEX {name}")
    recreate = [f"{definition}" for _name, definition in indexes]
    recreate += [
        f"CREATE INDEX ix_bench_{table}_{column} ON {table} ({column})" for table, column in unindexed
    ]
    ordered = sorted(constraints, key=lambda c: c[2] != "u")  # unique first: foreign keys may need them
    recreate += [
        f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}' for table, name, _k, definition in ordered
    ]
    return recreate
