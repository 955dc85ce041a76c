"""Every column type survives write -> snapshot -> restore_snapshot on SQLite, Postgres and MariaDB."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from snapshot_meta import make_meta
from sqlalchemy.dialects import mysql, postgresql

from repro.config import Settings, SnapshotSettings
from repro.errors import SchemaMismatchError, SnapshotIntegrityError
from repro.masking.batch import sealed_from_snapshot
from repro.schema import reflect
from repro.snapshots.codec import JSON_NULL
from repro.snapshots.format import SnapshotWriter
from repro.snapshots.restore import restore_snapshot
from repro.snapshots.store import open_store

TZ = dt.timezone(dt.timedelta(hours=-5, minutes=-30))


def _types_table(metadata: sa.MetaData, dialect: str) -> sa.Table:
    def fsp(kind: Any, fallback: sa.types.TypeEngine[Any]) -> sa.types.TypeEngine[Any]:
        return fallback.with_variant(kind(fsp=6), "mysql", "mariadb")

    columns: list[sa.Column[Any]] = [
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("big", sa.BigInteger),
        sa.Column("amount", sa.Numeric(20, 6)),
        sa.Column("ratio", sa.Double),
        sa.Column("body", sa.Text),
        sa.Column("name", sa.String(100)),
        sa.Column("flag", sa.Boolean),
        sa.Column("day", sa.Date),
        sa.Column("at", fsp(mysql.DATETIME, sa.DateTime())),
        sa.Column("at_tz", fsp(mysql.DATETIME, sa.DateTime(timezone=True))),
        sa.Column("clock", fsp(mysql.TIME, sa.Time())),
        sa.Column("blob", sa.LargeBinary),
        sa.Column("doc", sa.JSON(none_as_null=True)),
        sa.Column("uid", sa.Uuid),
        sa.Column("mood", sa.Enum("happy", "sad", "so-so", name="mood")),
    ]
    if dialect == "postgresql":
        columns += [
            sa.Column("tags", postgresql.ARRAY(sa.Text)),
            sa.Column("grid", postgresql.ARRAY(sa.Integer, dimensions=2)),
            sa.Column("span", postgresql.INTERVAL),
            sa.Column("docb", postgresql.JSONB(none_as_null=True)),
        ]
    return sa.Table("kinds", metadata, *columns, mysql_charset="utf8mb4")


def _rows(dialect: str) -> list[dict[str, Any]]:
    aware = dialect == "postgresql"  # SQLite and MariaDB keep no time zone
    rows: list[dict[str, Any]] = [
        {
            "id": 1,
            "big": 2**63 - 1,
            "amount": Decimal("12345678901234.123456"),
            "ratio": 0.1 + 0.2,
            "body": 'Zoë writes 🐛 and "quotes"\nnew line',
            "name": "Ørsted",
            "flag": True,
            "day": dt.date(1999, 12, 31),
            "at": dt.datetime(2026, 11, 27, 14, 12, 3, 123456),
            "at_tz": dt.datetime(2026, 11, 27, 14, 12, 3, 654321, tzinfo=TZ if aware else None),
            "clock": dt.time(23, 59, 59, 999999),
            "blob": b"\x00\xff\x10binary",
            "doc": {
                "email": "masked@example.test",
                "items": [{"sku": "A-1", "qty": 2}],
                "ok": True,
                "x": None,
            },
            "uid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
            "mood": "so-so",
        },
        {
            "id": 2,
            "big": -(2**63),
            "amount": Decimal("-0.000001"),
            "ratio": 1.7976931348623157e308,
            "body": "",
            "name": "x",
            "flag": False,
            "day": dt.date(1970, 1, 1),
            "at": dt.datetime(2000, 2, 29),
            "at_tz": dt.datetime(2000, 2, 29, tzinfo=dt.UTC if aware else None),
            "clock": dt.time(0, 0),
            "blob": b"",
            "doc": [1, "two", 3.5, None],
            "uid": uuid.uuid4(),
            "mood": "sad",
        },
        {"id": 3, "doc": "a JSON string"},
        {"id": 4, "doc": 42},
        {"id": 5, "doc": JSON_NULL},  # a JSON null, not SQL NULL
        {"id": 6},  # every column SQL NULL
    ]
    if dialect == "postgresql":
        rows[0].update(
            tags=["a", "b,c", "", "🐛"],
            grid=[[1, 2], [3, 4]],
            span=dt.timedelta(days=3, seconds=7),
            docb={"k": [1, {"z": None}]},
        )
        rows[1].update(tags=[], grid=[[None, 5]], span=dt.timedelta(microseconds=-1), docb=JSON_NULL)
    return rows


def _create(url: str, dialect: str) -> sa.Table:
    metadata = sa.MetaData()
    table = _types_table(metadata, dialect)
    engine = sa.create_engine(url)
    metadata.create_all(engine)
    engine.dispose()
    return table


def _read(url: str) -> tuple[list[tuple[Any, ...]], list[tuple[str, Any]], set[int]]:
    """Rows of `kinds` as a reflecting reader sees them (like copy-user's extraction), and the ids whose doc
    column is SQL NULL."""
    engine = sa.create_engine(url)
    try:
        graph = reflect(engine)
        table = graph.tables["kinds"].table
        with engine.connect() as conn:
            rows = [tuple(r) for r in conn.execute(sa.select(table).order_by(table.c.id))]
            null_docs = {r[0] for r in conn.execute(sa.select(table.c.id).where(table.c.doc.is_(None)))}
        return rows, [(c.name, c.type) for c in table.columns], null_docs
    finally:
        engine.dispose()


@pytest.fixture
def snapshot_settings(tmp_path: Path) -> SnapshotSettings:
    return SnapshotSettings(store=str(tmp_path / "snapshots"))


def _write_snapshot(
    settings: SnapshotSettings, source: str, dialect: str
) -> tuple[str, list[tuple[Any, ...]]]:
    table = _create(source, dialect)
    engine = sa.create_engine(source)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(table), [{c.name: r.get(c.name) for c in table.columns} for r in _rows(dialect)]
        )
    engine.dispose()
    rows, columns, _ = _read(source)
    names = [n for n, _ in columns]
    # What the masking engine would hand over; the JSON null of row 5 is restored as such (see below).
    doc = names.index("doc")
    if isinstance(
        columns[doc][1], sa.JSON
    ):  # MariaDB keeps JSON as LONGTEXT: its reader sees the text 'null'
        rows = [(*r[:doc], JSON_NULL, *r[doc + 1 :]) if r[0] == 5 else r for r in rows]
    writer = SnapshotWriter(open_store(settings), make_meta(), now=dt.datetime(2026, 11, 27, tzinfo=dt.UTC))
    writer.add_table("kinds", columns, primary_key=["id"])
    writer.write(sealed_from_snapshot("kinds", names, rows[:4]))
    writer.write(sealed_from_snapshot("kinds", names, rows[4:]))
    return writer.commit().id, rows


def test_every_type_round_trips(dialect: str, new_database: Any, snapshot_settings: SnapshotSettings) -> None:
    source, target = new_database(dialect, "src"), new_database(dialect, "dst")
    snapshot_id, _ = _write_snapshot(snapshot_settings, source, dialect)
    _create(target, dialect)
    settings = Settings(snapshots=snapshot_settings)
    result = restore_snapshot(settings, snapshot_id, target)
    assert result.rows == {"kinds": 6}
    source_rows, _, source_nulls = _read(source)
    target_rows = _read(target)[0]
    assert target_rows == source_rows
    # Spot checks against the Python values themselves, where the database keeps them exactly.
    first = dict(
        zip([c.name for c in _types_table(sa.MetaData(), dialect).columns], target_rows[0], strict=True)
    )
    assert first["big"] == 2**63 - 1
    if dialect != "mysql":  # a reflected MariaDB DOUBLE reads as a Decimal with 10 places (asdecimal)
        assert first["ratio"] == 0.30000000000000004
    assert first["body"] == 'Zoë writes 🐛 and "quotes"\nnew line'
    assert first["at"] == dt.datetime(2026, 11, 27, 14, 12, 3, 123456)
    assert first["clock"] == dt.time(23, 59, 59, 999999)
    assert first["blob"] == b"\x00\xff\x10binary"
    if dialect != "sqlite":
        assert first["amount"] == Decimal("12345678901234.123456")
    if dialect == "postgresql":
        assert first["at_tz"] == dt.datetime(2026, 11, 27, 19, 42, 3, 654321, tzinfo=dt.UTC)
        assert first["tags"] == ["a", "b,c", "", "🐛"] and first["grid"] == [[1, 2], [3, 4]]
    assert source_nulls == {6}
    # Restore twice: same rows, nothing duplicated.
    again = restore_snapshot(settings, snapshot_id, target)
    assert again.rows == {"kinds": 6}
    assert _read(target)[0] == source_rows


def test_sql_null_and_json_null_stay_apart(
    dialect: str, new_database: Any, snapshot_settings: SnapshotSettings
) -> None:
    source, target = new_database(dialect, "src"), new_database(dialect, "dst")
    snapshot_id, _ = _write_snapshot(snapshot_settings, source, dialect)
    _create(target, dialect)
    restore_snapshot(Settings(snapshots=snapshot_settings), snapshot_id, target)
    assert _read(target)[2] == {6}  # row 6 SQL NULL; row 5 holds the JSON null


def test_restore_with_create_schema(
    dialect: str, new_database: Any, snapshot_settings: SnapshotSettings
) -> None:
    source, target = new_database(dialect, "src"), new_database(dialect, "dst")
    snapshot_id, _ = _write_snapshot(snapshot_settings, source, dialect)
    result = restore_snapshot(Settings(snapshots=snapshot_settings), snapshot_id, target, create_schema=True)
    assert result.created_tables == ["kinds"]
    assert _read(target)[0] == _read(source)[0]


def test_restore_from_s3(new_database: Any, s3_settings: SnapshotSettings) -> None:
    source, target = new_database("sqlite", "src"), new_database("sqlite", "dst")
    snapshot_id, _ = _write_snapshot(s3_settings, source, "sqlite")
    _create(target, "sqlite")
    result = restore_snapshot(Settings(snapshots=s3_settings), snapshot_id, target)
    assert result.rows == {"kinds": 6}
    assert _read(target)[0] == _read(source)[0]


def test_missing_table_and_column_are_named(new_database: Any, snapshot_settings: SnapshotSettings) -> None:
    source, target = new_database("sqlite", "src"), new_database("sqlite", "dst")
    snapshot_id, _ = _write_snapshot(snapshot_settings, source, "sqlite")
    settings = Settings(snapshots=snapshot_settings)
    with pytest.raises(SchemaMismatchError, match=r"^the target database has no table kinds \(restore with"):
        restore_snapshot(settings, snapshot_id, target)
    engine = sa.create_engine(target)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE kinds (id INTEGER PRIMARY KEY, big BIGINT)")
    engine.dispose()
    with pytest.raises(
        SchemaMismatchError, match=r"^the target database has no column kinds\.amount, kinds\.ratio"
    ):
        restore_snapshot(settings, snapshot_id, target)


def test_tampered_snapshot_is_refused_before_touching_the_target(
    new_database: Any, snapshot_settings: SnapshotSettings
) -> None:
    source, target = new_database("sqlite", "src"), new_database("sqlite", "dst")
    snapshot_id, _ = _write_snapshot(snapshot_settings, source, "sqlite")
    _create(target, "sqlite")
    data = Path(snapshot_settings.store) / "snapshots" / snapshot_id / "data" / "kinds.jsonl.gz"
    raw = bytearray(data.read_bytes())
    raw[-12] ^= 0xFF
    data.write_bytes(bytes(raw))
    with pytest.raises(SnapshotIntegrityError, match=r"data/kinds\.jsonl\.gz was modified"):
        restore_snapshot(Settings(snapshots=snapshot_settings), snapshot_id, target)
    assert _read(target)[0] == []
