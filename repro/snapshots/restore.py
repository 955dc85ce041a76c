"""Reading a snapshot back: verify every checksum, stream its rows as MaskedBatch, restore it onto staging.

Restore goes through the same loader as copy-user (repro.load: one transaction, parents first, idempotent
upsert), so restoring twice leaves staging identical.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import sqlalchemy as sa

from repro.config import Settings
from repro.db import create_engine, redact_url
from repro.errors import NotFoundError, SchemaMismatchError, SnapshotIntegrityError
from repro.masking.batch import MaskedBatch, sealed_from_snapshot
from repro.pipeline import few_collections
from repro.schema import SchemaGraph, reflect
from repro.snapshots.codec import decoder, target_adapter
from repro.snapshots.manifest import (
    MANIFEST,
    MANIFEST_DIGEST,
    Manifest,
    TableEntry,
    data_file_fits,
    digest_key,
    id_fits_root,
    is_snapshot_id,
    manifest_key,
    parse_digest_line,
    snapshot_prefix,
)
from repro.snapshots.store import Store, open_store

_CHUNK = 1 << 20


class _HashingReader:
    """Wraps a binary stream, hashing and counting what is read through it."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.digest = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1, /) -> bytes:
        data = self.raw.read(size)
        self.digest.update(data)
        self.size += len(data)
        return data

    def seek(self, offset: int, /) -> object:
        raise io.UnsupportedOperation("a snapshot data file is read once, front to back")

    def drain(self) -> None:
        while self.read(_CHUNK):
            pass


class SnapshotReader:
    """One snapshot in a store: its manifest, integrity check and rows."""

    def __init__(self, store: Store, snapshot_id: str, manifest: Manifest, manifest_bytes: bytes) -> None:
        self.store = store
        self.snapshot_id = snapshot_id
        self.manifest = manifest
        self._manifest_bytes = manifest_bytes

    def _where(self, name: str) -> str:
        return f"snapshot {self.snapshot_id}: {name}"

    def verify(self) -> None:
        """Check the manifest against its digest and every data file against the manifest.

        Raises SnapshotIntegrityError naming the first file that is missing or differs.
        """
        try:
            recorded = parse_digest_line(
                self.store.get_bytes(digest_key(self.snapshot_id)), self._where(MANIFEST_DIGEST)
            )
        except NotFoundError:
            raise SnapshotIntegrityError(f"{self._where(MANIFEST_DIGEST)} is missing") from None
        if hashlib.sha256(self._manifest_bytes).hexdigest() != recorded:
            raise SnapshotIntegrityError(
                f"{self._where(MANIFEST)} was modified (its sha256 differs from {MANIFEST_DIGEST})"
            )
        if self.manifest.id != self.snapshot_id:
            raise SnapshotIntegrityError(
                f"{self._where(MANIFEST)} names another snapshot ({self.manifest.id})"
            )
        self._check_consistency()
        for entry in self.manifest.tables:
            reader = _HashingReader(self._open(entry))
            try:
                reader.drain()
            finally:
                reader.raw.close()
            self._check_file(entry, reader)

    def _check_consistency(self) -> None:
        """What a digest recomputed after an edit cannot hide: the manifest must agree with the snapshot's id
        and with its own file names, and the snapshot folder must hold no file the manifest does not list."""
        m = self.manifest
        if not id_fits_root(self.snapshot_id, m.root_table, m.root_value):
            raise SnapshotIntegrityError(
                f"{self._where(MANIFEST)} names root {m.root_table} {m.root_value}, which does not fit the id"
            )
        names = [t.name for t in m.tables]
        files = [t.file.lower() for t in m.tables]
        for entry in m.tables:
            if names.count(entry.name) > 1 or files.count(entry.file.lower()) > 1:
                raise SnapshotIntegrityError(f"{self._where(MANIFEST)} lists {entry.file} more than once")
            if not data_file_fits(entry.name, entry.file):
                raise SnapshotIntegrityError(
                    f"{self._where(MANIFEST)} gives table '{entry.name}' the file {entry.file}"
                    " (renamed in the manifest?)"
                )
        prefix = snapshot_prefix(self.snapshot_id)
        listed = {MANIFEST, MANIFEST_DIGEST, *(t.file for t in m.tables)}
        extra = [
            key[len(prefix) :] for key in self.store.list_keys(prefix) if key[len(prefix) :] not in listed
        ]
        if extra:
            raise SnapshotIntegrityError(f"{self._where(extra[0])} is not listed in the manifest")

    def _open(self, entry: TableEntry) -> IO[bytes]:
        try:
            return self.store.open_read(snapshot_prefix(self.snapshot_id) + entry.file)
        except NotFoundError:
            raise SnapshotIntegrityError(f"{self._where(entry.file)} is missing") from None

    def _check_file(self, entry: TableEntry, reader: _HashingReader) -> None:
        if reader.size != entry.bytes:
            raise SnapshotIntegrityError(
                f"{self._where(entry.file)} has {reader.size} bytes, the manifest says {entry.bytes}"
            )
        if reader.digest.hexdigest() != entry.sha256:
            raise SnapshotIntegrityError(
                f"{self._where(entry.file)} was modified (sha256 differs from the manifest)"
            )

    def iter_batches(
        self, table: str, batch_size: int, *, adapt_to: sa.Table | None = None
    ) -> Iterator[MaskedBatch]:
        """The table's rows in batches, decoded to Python values; `adapt_to` converts them for a target table.

        The file is hashed while it is read: a file that changed since verify() raises before the last batch.
        """
        try:
            entry = self.manifest.table(table)
        except KeyError:
            raise NotFoundError(f"snapshot {self.snapshot_id} has no table '{table}'") from None
        names = entry.column_names
        convert = [decoder(c.codec, self._where(f"{entry.file}: column {c.name}")) for c in entry.columns]
        if adapt_to is not None:
            adapters = [target_adapter(c.codec, adapt_to.c[c.name].type) for c in entry.columns]
            convert = [_chain(dec, ad) for dec, ad in zip(convert, adapters, strict=True)]
        raw = self._open(entry)
        reader = _HashingReader(raw)
        rows: list[tuple[Any, ...]] = []
        count = 0
        try:
            with gzip.GzipFile(fileobj=reader, mode="rb") as lines:
                for number, line in enumerate(lines, start=1):
                    rows.append(self._decode_line(entry, number, line, names, convert))
                    if len(rows) >= batch_size:
                        count += len(rows)
                        yield sealed_from_snapshot(table, names, rows)
                        rows = []
            reader.drain()
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise SnapshotIntegrityError(
                f"{self._where(entry.file)} is not a readable gzip file ({exc})"
            ) from None
        finally:
            raw.close()
        self._check_file(entry, reader)
        count += len(rows)
        if count != entry.rows:
            raise SnapshotIntegrityError(
                f"{self._where(entry.file)} has {count} rows, the manifest says {entry.rows}"
            )
        if rows:
            yield sealed_from_snapshot(table, names, rows)

    def _decode_line(
        self,
        entry: TableEntry,
        number: int,
        line: bytes,
        names: tuple[str, ...],
        convert: list[Callable[[Any], Any]],
    ) -> tuple[Any, ...]:
        try:
            cells = json.loads(line)
        except ValueError:
            raise SnapshotIntegrityError(f"{self._where(entry.file)}: line {number} is not JSON") from None
        if not isinstance(cells, dict) or set(cells) != set(names):
            raise SnapshotIntegrityError(
                f"{self._where(entry.file)}: line {number} does not have the manifest's columns"
            )
        return tuple(conv(cells[name]) for name, conv in zip(names, convert, strict=True))


def _chain(first: Callable[[Any], Any], second: Callable[[Any], Any] | None) -> Callable[[Any], Any]:
    if second is None:
        return first
    return lambda v: second(first(v))


def open_snapshot(store: Store, snapshot_id: str) -> SnapshotReader:
    """The snapshot `snapshot_id`; NotFoundError if it does not exist. Its files are checked by verify()."""
    if not is_snapshot_id(snapshot_id):
        raise NotFoundError(f"snapshot '{snapshot_id}' does not exist in {store.location}")
    try:
        data = store.get_bytes(manifest_key(snapshot_id))
    except NotFoundError:
        if store.list_keys(snapshot_prefix(snapshot_id)):
            raise SnapshotIntegrityError(
                f"snapshot {snapshot_id}: {MANIFEST} is missing (incomplete snapshot)"
            ) from None
        raise NotFoundError(f"snapshot '{snapshot_id}' does not exist in {store.location}") from None
    manifest = Manifest.from_json_bytes(data, f"snapshot {snapshot_id}: {MANIFEST}")
    return SnapshotReader(store, snapshot_id, manifest, data)


@dataclass
class RestoreResult:
    snapshot_id: str
    target: str  # redacted URL
    rows: dict[str, int]
    created_tables: list[str] = field(default_factory=list)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "snapshot": self.snapshot_id,
            "target": self.target,
            "rows": self.rows,
            "total_rows": self.total_rows,
            "created_tables": self.created_tables,
        }


def check_schema_against_manifest(target: SchemaGraph, manifest: Manifest) -> None:
    """Every table and column of the snapshot must exist in the target; name what is missing."""
    missing_tables = [t.name for t in manifest.tables if t.name not in target.tables]
    if missing_tables:
        raise SchemaMismatchError(
            f"the target database has no table {', '.join(missing_tables)}"
            " (restore with --create-schema into an empty database, or migrate it)"
        )
    missing = [
        f"{t.name}.{c}"
        for t in manifest.tables
        for c in t.column_names
        if c not in target.tables[t.name].columns
    ]
    if missing:
        raise SchemaMismatchError(
            f"the target database has no column {', '.join(missing)} (migrate staging first)"
        )


@few_collections()
def restore_snapshot(
    settings: Settings, snapshot_id: str, target_url: str, *, create_schema: bool = False
) -> RestoreResult:
    """Verify a snapshot, check the target schema against it, and load its rows in one transaction."""
    from repro.load import check_target_schema, write_subset
    from repro.load_order import plan_load
    from repro.snapshots.schema import create_snapshot_tables

    reader = open_snapshot(open_store(settings.snapshots), snapshot_id)
    reader.verify()
    manifest = reader.manifest
    engine = create_engine(target_url)
    try:
        created: list[str] = []
        if create_schema:
            created = create_snapshot_tables(engine, manifest)
        graph = reflect(engine, settings.schema)
        check_schema_against_manifest(graph, manifest)
        check_target_schema(graph, {t.name: t.column_names for t in manifest.tables})
        plan = plan_load(graph, [t.name for t in manifest.tables])
        batch_size = settings.subset.batch_size

        def batches_for(table: str) -> Iterator[MaskedBatch]:
            return reader.iter_batches(table, batch_size, adapt_to=graph.tables[table].table)

        result = write_subset(engine, plan, batches_for, triggers=settings.load_triggers)
        rows = {t: result.rows.get(t, 0) for t in plan.order}
        return RestoreResult(snapshot_id, redact_url(target_url), rows, created)
    finally:
        engine.dispose()
