"""Writing the snapshot format: SnapshotWriter streams masked batches into gzip JSON Lines files, then
publishes the snapshot atomically (the layout and manifest are described in repro.snapshots.manifest).

Files are assembled in a staging folder (inside a local store, so publishing is one rename; a temporary
folder for S3, uploaded data first and manifest last). Memory stays bounded: rows are encoded and compressed
one at a time.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import sqlalchemy as sa

from repro import __version__
from repro.errors import ReproError, SnapshotError
from repro.masking.batch import MaskedBatch
from repro.schema import ForeignKey, generic_type_name
from repro.snapshots.codec import codec_for_type, encode_column, encoder
from repro.snapshots.manifest import (
    MANIFEST,
    MANIFEST_DIGEST,
    ColumnEntry,
    ForeignKeyEntry,
    Manifest,
    SnapshotMeta,
    TableEntry,
    data_file_name,
    digest_line,
    manifest_key,
    new_snapshot_id,
    snapshot_prefix,
)
from repro.snapshots.store import Store

__all__ = ["ColumnEntry", "Manifest", "SnapshotMeta", "SnapshotWriter", "TableEntry"]


# zlib level 1: on masked JSON lines, files about 20% larger than level 5 for less than half its CPU time
# (measured on the `make bench` heavy user); a copy during an incident is worth more than the bytes.
COMPRESS_LEVEL = 1


_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode
_quote = json.encoder.encode_basestring  # type: ignore[attr-defined]  # JSON string, non-ASCII as is


def _line_template(names: Sequence[str]) -> str:
    """`{"a":%s,"b":%s}` for the columns: a line is one %-format of the row's JSON texts."""
    return "{" + ",".join(_quote(n).replace("%", "%%") + ":%s" for n in names) + "}"


_INTS = frozenset({int, type(None)})
_STRS = frozenset({str, type(None)})


def _json_texts(values: Sequence[Any]) -> list[str]:
    """Each JSON value of a column as compact JSON text, exactly as `json.dumps` with the writer's settings
    spells it (columns of ints or strings, with or without NULLs, skip the general encoder)."""
    kinds = set(map(type, values))
    if kinds == {int}:
        return list(map(int.__repr__, values))
    if kinds == {str}:
        return list(map(_quote, values))
    if kinds <= _INTS:
        return ["null" if v is None else int.__repr__(v) for v in values]
    if kinds <= _STRS:
        return ["null" if v is None else _quote(v) for v in values]
    return [_dumps(v) for v in values]


@dataclass
class _OpenTable:
    """A table file being written: its compressed stream and how its values are encoded."""

    name: str
    file: str
    columns: tuple[ColumnEntry, ...]
    primary_key: tuple[str, ...]
    foreign_keys: tuple[ForeignKeyEntry, ...]
    encoders: list[Callable[[Any], Any]]
    raw: io.BufferedWriter
    gz: gzip.GzipFile
    line: str  # see _line_template
    rows: int = 0


class SnapshotWriter:
    """Write one snapshot: add_table for each table, write its masked batches, then commit (or abort)."""

    def __init__(self, store: Store, meta: SnapshotMeta, *, now: datetime | None = None) -> None:
        self._store = store
        self._meta = meta
        self._now = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
        self._id = new_snapshot_id(meta.root_table, meta.root_value, self._now)
        self._staged: Path | None = None
        self._tables: dict[str, _OpenTable] = {}
        self._taken_files: set[str] = set()
        self._state = "open"

    @property
    def snapshot_id(self) -> str:
        return self._id

    def __enter__(self) -> SnapshotWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._state == "open":
            self.abort()

    def _staging(self) -> Path:
        if self._staged is None:
            self._staged = self._store.new_staging_dir()
            (self._staged / "data").mkdir()
        return self._staged

    def _require_open(self) -> None:
        if self._state != "open":
            raise SnapshotError(f"snapshot {self._id} is already {self._state}")

    def add_table(
        self,
        table: str,
        columns: Sequence[tuple[str, sa.types.TypeEngine[Any]]],
        *,
        primary_key: Sequence[str] = (),
        foreign_keys: Sequence[ForeignKey] = (),
    ) -> None:
        """Declare a table and its column types (the encoding of every cell follows from the type).

        The primary key and declared foreign keys are optional; recorded, they let `restore --create-schema`
        create the table with its keys on an empty database.
        """
        self._require_open()
        if table in self._tables:
            raise SnapshotError(f"snapshot {self._id}: table '{table}' was added twice")
        names = [name for name, _ in columns]
        if len(set(names)) != len(names) or not names:
            raise SnapshotError(f"snapshot {self._id}: table '{table}' needs distinct column names")
        entries = tuple(_column_entry(name, coltype, self._meta.source_dialect) for name, coltype in columns)
        encoders = [encoder(c.codec, f"{table}.{c.name}") for c in entries]
        file = data_file_name(table, self._taken_files)
        path = self._staging() / file
        raw = path.open("wb")
        # mtime=0 and no file name in the header: the same rows always give the same bytes and checksum.
        gz = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=COMPRESS_LEVEL)
        fks = tuple(
            ForeignKeyEntry(fk.columns, fk.ref_table, fk.ref_columns) for fk in foreign_keys if not fk.virtual
        )
        self._tables[table] = _OpenTable(
            table, file, entries, tuple(primary_key), fks, encoders, raw, gz, _line_template(names)
        )

    def write(self, batch: MaskedBatch) -> None:
        """Append a masked batch to its table's data file (columns may come in any order)."""
        self._require_open()
        if not isinstance(batch, MaskedBatch):
            raise SnapshotError("only masked batches can be written to a snapshot")
        open_table = self._tables.get(batch.table)
        if open_table is None:
            raise SnapshotError(f"snapshot {self._id}: table '{batch.table}' was not added")
        expected = [c.name for c in open_table.columns]
        if sorted(batch.columns) != sorted(expected):
            raise SnapshotError(
                f"snapshot {self._id}: batch columns of '{batch.table}' differ from the declared ones"
            )
        if not batch.rows:
            return
        by_name = dict(zip(batch.columns, zip(*batch.rows, strict=True), strict=True))
        encoded = [
            encode_column(by_name[c.name], c.codec["codec"], enc)
            for c, enc in zip(open_table.columns, open_table.encoders, strict=True)
        ]
        line = open_table.line
        lines = [line % row for row in zip(*map(_json_texts, encoded), strict=True)]
        # One compressed write per batch, not two per row.
        open_table.gz.write(("\n".join(lines) + "\n").encode())
        open_table.rows += len(batch.rows)

    def commit(self, *, order: Sequence[str] = (), schema_fingerprint: str | None = None) -> Manifest:
        """Close the data files, write the manifest with their checksums, and publish the snapshot.

        `order` lists tables in the order the manifest should give them (others follow as added);
        `schema_fingerprint` replaces the one of the meta (known only once the copy's tables are).
        """
        self._require_open()
        try:
            staged = self._staging()
            entries = []
            rank = {name: i for i, name in enumerate(order)}
            tables = sorted(self._tables.values(), key=lambda t: rank.get(t.name, len(rank)))
            for t in tables:
                t.gz.close()
                t.raw.close()
                sha, size = _file_digest(staged / t.file)
                entries.append(
                    TableEntry(t.name, t.file, t.columns, t.rows, sha, size, t.primary_key, t.foreign_keys)
                )
            meta = self._meta
            manifest = Manifest(
                id=self._id,
                tool_version=__version__,
                created_at=self._now,
                created_by=meta.created_by,
                source_dialect=meta.source_dialect,
                schema_fingerprint=schema_fingerprint or meta.schema_fingerprint,
                root_table=meta.root_table,
                root_key=meta.root_key,
                root_value=meta.root_value,
                incident=meta.incident,
                rules_hash=meta.rules_hash,
                salt_fingerprint=meta.salt_fingerprint,
                tables=tuple(entries),
            )
            body = manifest.to_json_bytes()
            (staged / MANIFEST).write_bytes(body)
            (staged / MANIFEST_DIGEST).write_bytes(digest_line(body))
            self._store.publish_dir(staged, snapshot_prefix(self._id), MANIFEST)
        except (ReproError, OSError) as exc:
            self.abort()
            if isinstance(exc, ReproError):
                raise
            raise SnapshotError(f"cannot write snapshot {self._id}: {exc.strerror or exc}") from None
        except BaseException:
            self.abort()
            raise
        self._state = "committed"
        self._staged = None
        return manifest

    def abort(self) -> None:
        """Drop everything written so far; nothing of this snapshot is listed afterwards.

        After commit() this deletes the published snapshot (manifest first), for a copy whose staging commit
        failed after its snapshot was written.
        """
        if self._state == "committed":
            self._state = "aborted"
            self._store.delete_prefix(manifest_key(self._id))
            self._store.delete_prefix(snapshot_prefix(self._id))
            return
        for t in self._tables.values():
            t.gz.close()
            t.raw.close()
        if self._staged is not None:
            self._store.discard_staging(self._staged)
            self._staged = None
        if self._state == "open":
            # A publish that failed half-way may have uploaded data files (never the manifest): remove them.
            self._state = "aborted"
            prefix = snapshot_prefix(self._id)
            if self._store.list_keys(prefix):
                self._store.delete_prefix(prefix)


def _file_digest(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _column_entry(name: str, coltype: sa.types.TypeEngine[Any], dialect_name: str) -> ColumnEntry:
    return ColumnEntry(
        name=name,
        type=generic_type_name(coltype),
        sql=_sql_spelling(coltype, dialect_name),
        codec=codec_for_type(coltype),
        details=type_details(coltype),
    )


def _sql_spelling(coltype: sa.types.TypeEngine[Any], dialect_name: str) -> str:
    try:
        dialect = sa.dialects.registry.load(dialect_name)()
        return str(coltype.compile(dialect=dialect))
    except (sa.exc.SQLAlchemyError, NotImplementedError, TypeError):
        return type(coltype).__name__.upper()


def type_details(coltype: sa.types.TypeEngine[Any]) -> dict[str, Any]:
    """What it takes to create the column again (`restore --create-schema`)."""
    details: dict[str, Any] = {}
    if isinstance(coltype, sa.Enum):
        details["enum"] = list(coltype.enums)
        if coltype.name:
            details["enum_name"] = coltype.name
    elif isinstance(coltype, sa.String) and coltype.length:
        details["length"] = coltype.length
    if isinstance(coltype, sa.Numeric) and not isinstance(coltype, sa.Float):
        if coltype.precision is not None:
            details["precision"] = coltype.precision
        if coltype.scale is not None:
            details["scale"] = coltype.scale
    if isinstance(coltype, sa.DateTime | sa.Time) and coltype.timezone:
        details["timezone"] = True
    if isinstance(coltype, sa.ARRAY):
        details["item_type"] = generic_type_name(coltype.item_type)
        details["item"] = type_details(coltype.item_type)
        if coltype.dimensions:
            details["dimensions"] = coltype.dimensions
    if isinstance(coltype, sa.BigInteger):
        details["big"] = True
    return details
