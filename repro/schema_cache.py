"""Reflected schemas kept between runs, keyed by a fingerprint of the database catalog.

Reflecting a schema costs a copy a noticeable part of its start-up (about 0.1 s per database for a dozen
tables). One catalog query gives a fingerprint of everything reflection reads (tables, columns and their
types, defaults, constraints, indexes, enum labels); the reflected MetaData is stored under a key made of
that fingerprint, the database address and the library versions, so any schema change, or an upgrade, reads
the catalog afresh. Postgres and SQLite only (MySQL's information_schema is about as slow as reflecting).

The files are pickles written by this user into its own cache folder (0700): $REPRO_CACHE_DIR/schema, else
$XDG_CACHE_HOME/repro/schema (~/.cache/repro/schema). REPRO_SCHEMA_CACHE=0 turns the cache off.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

KEEP_DAYS = 30

_PG_FINGERPRINT = """
SELECT md5(coalesce(string_agg(item, E'\\n' ORDER BY item), '')) FROM (
  SELECT 'c ' || c.oid || ' ' || c.relname || ' ' || c.relkind::text || ' ' || a.attnum || ' ' || a.attname || ' '
         || format_type(a.atttypid, a.atttypmod) || ' ' || a.attnotnull::text || ' ' || a.attidentity::text || ' '
         || coalesce(pg_get_expr(d.adbin, d.adrelid), '') || ' ' || coalesce(col_description(c.oid, a.attnum), '')
         AS item
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
  WHERE n.nspname = coalesce(%(schema)s, current_schema())
  UNION ALL
  SELECT 'k ' || con.conrelid::regclass::text || ' ' || con.conname || ' ' || pg_get_constraintdef(con.oid)
  FROM pg_constraint con
  JOIN pg_namespace n ON n.oid = con.connamespace
  WHERE n.nspname = coalesce(%(schema)s, current_schema())
  UNION ALL
  SELECT 'i ' || pg_get_indexdef(i.indexrelid)
  FROM pg_index i
  JOIN pg_class c ON c.oid = i.indrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = coalesce(%(schema)s, current_schema())
  UNION ALL
  SELECT 'e ' || t.oid || ' ' || t.typname || ' ' || e.enumsortorder || ' ' || e.enumlabel
  FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid
  UNION ALL
  SELECT 't ' || c.relname || ' ' || coalesce(obj_description(c.oid, 'pg_class'), '')
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = coalesce(%(schema)s, current_schema()) AND c.relkind IN ('r', 'p')
  UNION ALL
  SELECT 's ' || current_schema() || ' ' || current_database()
) items
"""


def cache_dir() -> Path:
    explicit = os.environ.get("REPRO_CACHE_DIR")
    if explicit:
        return Path(explicit) / "schema"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "repro" / "schema"


def enabled() -> bool:
    return os.environ.get("REPRO_SCHEMA_CACHE", "1") not in ("0", "false", "no", "off")


def fingerprint(conn: Connection, schema: str | None) -> str | None:
    """A digest of the catalog of `schema`, or None where this cache does not apply."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(_PG_FINGERPRINT, {"schema": schema})
            row = cursor.fetchone()
        finally:
            cursor.close()
        return str(row[0]) if row else None
    if dialect == "sqlite" and schema is None:
        rows = conn.exec_driver_sql(
            "SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_master ORDER BY type, name"
        ).all()
        return hashlib.sha256(repr(rows).encode()).hexdigest()
    return None


def _key(conn: Connection, schema: str | None, stamp: str) -> str:
    from repro import __version__

    url = conn.engine.url.render_as_string(hide_password=True)
    parts = [__version__, sa.__version__, conn.dialect.name, url, schema or "", stamp]
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:40]


def reflected_metadata(bind: Engine | Connection, schema: str | None) -> sa.MetaData:
    """`MetaData.reflect` of the schema, from the cache when the catalog is unchanged."""
    if isinstance(bind, Engine):
        with bind.connect() as conn:
            return reflected_metadata(conn, schema)
    stamp = fingerprint(bind, schema) if enabled() else None
    path = cache_dir() / f"{_key(bind, schema, stamp)}.pickle" if stamp else None
    if path is not None:
        cached = _read(path)
        if cached is not None:
            return cached
    metadata = sa.MetaData(schema=schema)
    metadata.reflect(bind=bind, schema=schema)
    if path is not None:
        _write(path, metadata)
    return metadata


def _read(path: Path) -> sa.MetaData | None:
    try:
        data = path.read_bytes()
    except OSError:
        return None
    try:
        loaded: Any = pickle.loads(data)
    except Exception:  # a damaged or foreign file: reflect again (and overwrite it)
        return None
    return loaded if isinstance(loaded, sa.MetaData) else None


def _write(path: Path, metadata: sa.MetaData) -> None:
    """Best effort: an unwritable cache only costs the next run a reflection."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".pickle")
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(metadata, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
        _prune(path.parent)
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        return


def _prune(folder: Path) -> None:
    cutoff = time.time() - KEEP_DAYS * 86400
    for old in folder.glob("*.pickle"):
        try:
            if old.stat().st_mtime < cutoff:
                old.unlink()
        except OSError:
            continue
