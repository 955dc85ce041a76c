"""The snapshot manifest: ids, store keys, manifest.json and its sidecar digest.

A snapshot `<id>` in a store:

    snapshots/<id>/data/<table>.jsonl.gz   one gzip JSON Lines file per table, one object per row
    snapshots/<id>/manifest.sha256         `<sha256>  manifest.json` (check with `sha256sum -c`)
    snapshots/<id>/manifest.json           written last; lists every data file with its sha256 and size

Read one without repro: `zcat data/users.jsonl.gz | jq .`; the manifest says how each column is spelled
(see repro.snapshots.codec).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from repro.errors import SnapshotIntegrityError

FORMAT_NAME = "repro-snapshot"
FORMAT_VERSION = 1
SNAPSHOTS_PREFIX = "snapshots/"
MANIFEST = "manifest.json"
MANIFEST_DIGEST = "manifest.sha256"

_ID_RE = re.compile(r"^\d{8}T\d{6}Z-[A-Za-z0-9_.-]+-[0-9a-f]{6}$")
_SLUG_BAD = re.compile(r"[^A-Za-z0-9_-]+")


@dataclass(frozen=True)
class SnapshotMeta:
    """What the copy knows about the snapshot it writes (never a URL, a password or the salt)."""

    root_table: str
    root_key: str
    root_value: str
    incident: str | None
    source_dialect: str
    schema_fingerprint: str
    rules_hash: str
    salt_fingerprint: str
    created_by: str


@dataclass(frozen=True)
class ColumnEntry:
    """One column of a snapshot table: its type and how its values are encoded."""

    name: str
    type: str  # repro.schema.generic_type_name
    sql: str  # the type as the source database spells it
    codec: dict[str, Any]  # repro.snapshots.codec spec: {"codec": ..., "item": {...}}
    details: dict[str, Any] = field(default_factory=dict)  # length, precision, timezone, enum values, ...


@dataclass(frozen=True)
class ForeignKeyEntry:
    """A declared foreign key of a snapshot table (used to create the schema again)."""

    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]


@dataclass(frozen=True)
class TableEntry:
    """One table of a snapshot: its data file, columns, row count and checksum."""

    name: str
    file: str  # relative to the snapshot folder
    columns: tuple[ColumnEntry, ...]
    rows: int
    sha256: str
    bytes: int
    primary_key: tuple[str, ...] = ()
    foreign_keys: tuple[ForeignKeyEntry, ...] = ()

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


@dataclass(frozen=True)
class Manifest:
    """What a snapshot holds and where it came from; written last, with its digest."""

    id: str
    tool_version: str
    created_at: datetime
    created_by: str
    source_dialect: str
    schema_fingerprint: str
    root_table: str
    root_key: str
    root_value: str
    incident: str | None
    rules_hash: str
    salt_fingerprint: str
    tables: tuple[TableEntry, ...]
    format_version: int = FORMAT_VERSION

    @property
    def total_rows(self) -> int:
        return sum(t.rows for t in self.tables)

    @property
    def total_bytes(self) -> int:
        return sum(t.bytes for t in self.tables)

    def table(self, name: str) -> TableEntry:
        for entry in self.tables:
            if entry.name == name:
                return entry
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT_NAME,
            "format_version": self.format_version,
            "id": self.id,
            "tool_version": self.tool_version,
            "created_at": format_time(self.created_at),
            "created_by": self.created_by,
            "source": {"dialect": self.source_dialect, "schema_fingerprint": self.schema_fingerprint},
            "root": {"table": self.root_table, "key": self.root_key, "value": self.root_value},
            "incident": self.incident,
            "masking": {"rules_hash": self.rules_hash, "salt_fingerprint": self.salt_fingerprint},
            "tables": [
                {
                    "name": t.name,
                    "file": t.file,
                    "rows": t.rows,
                    "sha256": t.sha256,
                    "bytes": t.bytes,
                    "primary_key": list(t.primary_key),
                    "foreign_keys": [
                        {
                            "columns": list(fk.columns),
                            "ref_table": fk.ref_table,
                            "ref_columns": list(fk.ref_columns),
                        }
                        for fk in t.foreign_keys
                    ],
                    "columns": [asdict(c) for c in t.columns],
                }
                for t in self.tables
            ],
        }

    def to_json_bytes(self) -> bytes:
        return (json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n").encode("utf-8")

    @classmethod
    def from_json_bytes(cls, data: bytes, where: str) -> Manifest:
        """Parse and validate; any deviation is a SnapshotIntegrityError naming `where`."""
        try:
            raw = json.loads(data.decode("utf-8"))
            return cls._from_dict(raw)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            detail = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc).splitlines()[0]
            raise SnapshotIntegrityError(f"{where}: not a valid snapshot manifest ({detail})") from None

    @classmethod
    def _from_dict(cls, raw: dict[str, Any]) -> Manifest:
        if raw["format"] != FORMAT_NAME:
            raise ValueError(f"format is {raw['format']!r}")
        version = _typed(raw["format_version"], int, "format_version")
        if version > FORMAT_VERSION:
            raise ValueError(
                f"format_version {version} is newer than this repro understands ({FORMAT_VERSION})"
            )
        tables = []
        for t in _typed(raw["tables"], list, "tables"):
            columns = tuple(
                ColumnEntry(
                    name=_typed(c["name"], str, "column name"),
                    type=_typed(c["type"], str, "column type"),
                    sql=_typed(c["sql"], str, "column sql"),
                    codec=_typed(c["codec"], dict, "column codec"),
                    details=_typed(c.get("details", {}), dict, "column details"),
                )
                for c in _typed(t["columns"], list, "columns")
            )
            file = _typed(t["file"], str, "file")
            if file.startswith("/") or ".." in file.split("/"):
                raise ValueError(f"data file path {file!r} leaves the snapshot folder")
            tables.append(
                TableEntry(
                    name=_typed(t["name"], str, "table name"),
                    file=file,
                    columns=columns,
                    rows=_typed(t["rows"], int, "rows"),
                    sha256=_typed(t["sha256"], str, "sha256"),
                    bytes=_typed(t["bytes"], int, "bytes"),
                    primary_key=tuple(_str_list(t.get("primary_key", []), "primary_key")),
                    foreign_keys=tuple(
                        ForeignKeyEntry(
                            tuple(_str_list(fk["columns"], "foreign key columns")),
                            _typed(fk["ref_table"], str, "foreign key table"),
                            tuple(_str_list(fk["ref_columns"], "foreign key columns")),
                        )
                        for fk in _typed(t.get("foreign_keys", []), list, "foreign_keys")
                    ),
                )
            )
        incident = raw.get("incident")
        return cls(
            id=_typed(raw["id"], str, "id"),
            tool_version=_typed(raw["tool_version"], str, "tool_version"),
            created_at=parse_time(_typed(raw["created_at"], str, "created_at")),
            created_by=_typed(raw["created_by"], str, "created_by"),
            source_dialect=_typed(raw["source"]["dialect"], str, "source.dialect"),
            schema_fingerprint=_typed(raw["source"]["schema_fingerprint"], str, "source.schema_fingerprint"),
            root_table=_typed(raw["root"]["table"], str, "root.table"),
            root_key=_typed(raw["root"]["key"], str, "root.key"),
            root_value=_typed(raw["root"]["value"], str, "root.value"),
            incident=None if incident is None else _typed(incident, str, "incident"),
            rules_hash=_typed(raw["masking"]["rules_hash"], str, "masking.rules_hash"),
            salt_fingerprint=_typed(raw["masking"]["salt_fingerprint"], str, "masking.salt_fingerprint"),
            tables=tuple(tables),
            format_version=version,
        )


def _typed(value: Any, kind: type, what: str) -> Any:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ValueError(f"{what} should be a {kind.__name__}")
    return value


def _str_list(value: Any, what: str) -> list[str]:
    items = _typed(value, list, what)
    for item in items:
        _typed(item, str, what)
    return list(items)


def format_time(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def new_snapshot_id(root_table: str, root_value: str, now: datetime) -> str:
    """`20261127T141203Z-users-42-3f9a1c`: sortable by time, readable, unique."""
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    slug = f"{_slug(root_table)}-{_slug(root_value)}"
    return f"{stamp}-{slug}-{secrets.token_hex(3)}"


def _slug(text: str) -> str:
    return _SLUG_BAD.sub("_", text).strip("_")[:40] or "x"


def is_snapshot_id(text: str) -> bool:
    return bool(_ID_RE.match(text))


def time_of_id(snapshot_id: str) -> datetime | None:
    """The creation time encoded in an id (for leftovers that never got a manifest)."""
    try:
        return datetime.strptime(snapshot_id[:16], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def snapshot_prefix(snapshot_id: str) -> str:
    return f"{SNAPSHOTS_PREFIX}{snapshot_id}/"


def manifest_key(snapshot_id: str) -> str:
    return f"{snapshot_prefix(snapshot_id)}{MANIFEST}"


def digest_key(snapshot_id: str) -> str:
    return f"{snapshot_prefix(snapshot_id)}{MANIFEST_DIGEST}"


def _file_base(table: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", table).strip(".") or "table"


def data_file_name(table: str, taken: set[str]) -> str:
    """`data/<table>.jsonl.gz`, with unusual characters replaced and clashes numbered."""
    base = _file_base(table)
    name, n = f"data/{base}.jsonl.gz", 2
    while name.lower() in taken:
        name, n = f"data/{base}-{n}.jsonl.gz", n + 1
    taken.add(name.lower())
    return name


def data_file_fits(table: str, file: str) -> bool:
    """Whether `file` is a name data_file_name can give `table` (a table renamed in the manifest is not)."""
    return re.fullmatch(rf"data/{re.escape(_file_base(table))}(?:-\d+)?\.jsonl\.gz", file) is not None


def id_fits_root(snapshot_id: str, root_table: str, root_value: str) -> bool:
    """Whether the id's readable part names this root (`...-users-42-3f9a1c` for users 42)."""
    return snapshot_id[17:-7] == f"{_slug(root_table)}-{_slug(root_value)}"


def digest_line(manifest_bytes: bytes) -> bytes:
    """The sidecar content: `sha256sum` format, so `sha256sum -c manifest.sha256` checks the manifest."""
    return f"{hashlib.sha256(manifest_bytes).hexdigest()}  {MANIFEST}\n".encode("ascii")


def parse_digest_line(data: bytes, where: str) -> str:
    match = re.fullmatch(rb"([0-9a-f]{64}) [ *]manifest\.json\n?", data)
    if not match:
        raise SnapshotIntegrityError(f"{where}: not a valid manifest digest")
    return match.group(1).decode("ascii")
