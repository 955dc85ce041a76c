"""repro.yaml + REPRO_* environment -> typed, validated Settings. URLs are redacted whenever shown."""

from __future__ import annotations

import getpass
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from repro.errors import ConfigError
from repro.yamlconf import LineDict, check_keys, get_typed, load_yaml_file, require_mapping, where

DEFAULT_CONFIG = "repro.yaml"
DEFAULT_TRACKER_URL = "sqlite:///.repro/repro.db"
DEFAULT_SNAPSHOT_STORE = ".repro/snapshots"


@dataclass(frozen=True)
class VirtualForeignKey:
    """A relation the database does not declare: `from: audit_log.actor_id, to: users.id`."""

    table: str
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]


@dataclass(frozen=True)
class SubsetSettings:
    """How far a copy reaches: `subset:` in repro.yaml."""

    max_rows: int = 1_000_000
    batch_size: int = 2000
    virtual_foreign_keys: tuple[VirtualForeignKey, ...] = ()
    skip: tuple[str, ...] = ()  # "table.column" of foreign keys never followed
    follow: tuple[str, ...] = ()  # "table.column" child edges followed even out of rows reached as parents


@dataclass(frozen=True)
class SnapshotSettings:
    """Where snapshots are kept: `snapshots:` in repro.yaml."""

    store: str = DEFAULT_SNAPSHOT_STORE  # a folder, or s3://bucket/prefix
    endpoint_url: str | None = None
    region: str | None = None
    sse: str | None = None  # "AES256" or "aws:kms"
    sse_kms_key_id: str | None = None


@dataclass(frozen=True)
class TrackerSettings:
    """The incident tracker's database and policy: `tracker:` in repro.yaml."""

    url: str = DEFAULT_TRACKER_URL
    policy: Path | None = None  # None: the shipped incident_policy.yaml


@dataclass(frozen=True)
class AttachmentSettings:
    """Size limits of files attached to incidents: `attachments:` in repro.yaml."""

    max_image_mb: float = 20.0
    max_video_mb: float = 500.0
    max_other_mb: float = 50.0


@dataclass(frozen=True)
class HarSettings:
    """Extra redaction of HAR files: `har:` in repro.yaml."""

    redact_headers: tuple[str, ...] = ()  # added to the built-in list
    redact_keys: tuple[str, ...] = ()  # body/query keys added to the built-in list
    user_id_patterns: tuple[str, ...] = ()  # regexes with one group, added to the built-in ones


@dataclass(frozen=True)
class HotfixSettings:
    """The branches hot fixes start from and merge back into: `hotfix:` in repro.yaml."""

    main_branch: str = "main"
    branches: tuple[str, ...] = ()  # default targets of `hotfix status`, glob patterns allowed


@dataclass(frozen=True)
class Settings:
    """Everything a command needs to know, after file, environment and command-line overrides."""

    config_path: Path | None = None
    base_dir: Path = field(default_factory=Path.cwd)
    source_url: str | None = None
    target_url: str | None = None
    root_table: str = "users"
    root_key: str = "id"
    schema: str | None = None
    rules_dir: Path = Path("masking_rules")
    subset: SubsetSettings = field(default_factory=SubsetSettings)
    snapshots: SnapshotSettings = field(default_factory=SnapshotSettings)
    tracker: TrackerSettings = field(default_factory=TrackerSettings)
    attachments: AttachmentSettings = field(default_factory=AttachmentSettings)
    har: HarSettings = field(default_factory=HarSettings)
    hotfix: HotfixSettings = field(default_factory=HotfixSettings)
    load_triggers: str = "auto"  # auto: Postgres staging skips per-row triggers when allowed; keep: never

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with the given non-None fields replaced (command-line options win)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def require_source(self) -> str:
        if not self.source_url:
            raise ConfigError(
                "no source database: set `source:` in repro.yaml, REPRO_SOURCE_URL, or pass --source"
            )
        return self.source_url

    def require_target(self) -> str:
        if not self.target_url:
            raise ConfigError(
                "no target database: set `target:` in repro.yaml, REPRO_TARGET_URL, or pass --target"
            )
        return self.target_url


def parse_column_ref(value: Any, container: Any, key: str) -> tuple[str, tuple[str, ...]]:
    """`table.column` or `table.(a,b)` -> (table, columns)."""
    if not isinstance(value, str) or "." not in value:
        raise ConfigError(f"{where(container, key)}: key '{key}': expected 'table.column', got {value!r}")
    table, _, cols = value.partition(".")
    cols = cols.strip()
    if cols.startswith("(") and cols.endswith(")"):
        columns = tuple(c.strip() for c in cols[1:-1].split(",") if c.strip())
    else:
        columns = (cols,)
    if not table or not all(columns):
        raise ConfigError(f"{where(container, key)}: key '{key}': expected 'table.column', got {value!r}")
    return table.strip(), columns


def _str_list(mapping: LineDict, key: str, what: str) -> tuple[str, ...]:
    value = get_typed(mapping, key, list, what)
    if value is None:
        return ()
    for item in value:
        if not isinstance(item, str):
            raise ConfigError(f"{mapping.where(key)}: key '{what}': expected a list of strings")
    return tuple(value)


def _resolve(base: Path, value: str | None) -> Path | None:
    if value is None:
        return None
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path


def _parse_subset(raw: Any, parent: LineDict) -> SubsetSettings:
    m = require_mapping(raw, "subset", parent, "subset")
    check_keys(m, ["max_rows", "batch_size", "virtual_foreign_keys", "skip", "follow"], "subset")
    vfks = []
    raw_vfks = get_typed(m, "virtual_foreign_keys", list, "subset.virtual_foreign_keys") or []
    for item in raw_vfks:
        im = require_mapping(item, "subset.virtual_foreign_keys[]", m, "virtual_foreign_keys")
        check_keys(im, ["from", "to"], "subset.virtual_foreign_keys")
        for k in ("from", "to"):
            if k not in im:
                raise ConfigError(f"{im.where()}: key 'subset.virtual_foreign_keys.{k}' is required")
        t, cols = parse_column_ref(im["from"], im, "from")
        rt, rcols = parse_column_ref(im["to"], im, "to")
        if len(cols) != len(rcols):
            raise ConfigError(f"{im.where('to')}: key 'to': column count differs from 'from'")
        vfks.append(VirtualForeignKey(t, cols, rt, rcols))
    for key in ("skip", "follow"):
        for item in _str_list(m, key, f"subset.{key}"):
            parse_column_ref(item, m, key)
    max_rows = get_typed(m, "max_rows", int, "subset.max_rows")
    batch_size = get_typed(m, "batch_size", int, "subset.batch_size")
    for name, val in (("max_rows", max_rows), ("batch_size", batch_size)):
        if val is not None and val <= 0:
            raise ConfigError(f"{m.where(name)}: key 'subset.{name}': must be a positive integer")
    defaults = SubsetSettings()
    return SubsetSettings(
        max_rows=max_rows or defaults.max_rows,
        batch_size=batch_size or defaults.batch_size,
        virtual_foreign_keys=tuple(vfks),
        skip=_str_list(m, "skip", "subset.skip"),
        follow=_str_list(m, "follow", "subset.follow"),
    )


def _parse_section(
    raw: Any, parent: LineDict, name: str, spec: Mapping[str, type | tuple[type, ...]]
) -> LineDict:
    m = require_mapping(raw, name, parent, name)
    check_keys(m, spec.keys(), name)
    for key, typ in spec.items():
        get_typed(m, key, typ, f"{name}.{key}")
    return m


def parse_settings(data: Any, config_path: Path | None, base_dir: Path) -> Settings:
    """Validate a loaded repro.yaml mapping into Settings (no environment applied)."""
    if data is None:
        data = LineDict()
    src = str(config_path) if config_path else "<config>"
    if not isinstance(data, dict):
        raise ConfigError(f"{src}:1: expected a mapping at the top level")
    m = require_mapping(data, "<top>")
    top_keys = [
        "source",
        "target",
        "root",
        "schema",
        "subset",
        "masking",
        "snapshots",
        "tracker",
        "attachments",
        "har",
        "hotfix",
        "load",
    ]
    check_keys(m, top_keys, "repro.yaml")
    settings = Settings(config_path=config_path, base_dir=base_dir)
    changes: dict[str, Any] = {}
    changes["source_url"] = get_typed(m, "source", str, "source")
    changes["target_url"] = get_typed(m, "target", str, "target")
    changes["schema"] = get_typed(m, "schema", str, "schema")
    if "root" in m:
        root = require_mapping(m["root"], "root", m, "root")
        check_keys(root, ["table", "key"], "root")
        changes["root_table"] = get_typed(root, "table", str, "root.table")
        changes["root_key"] = get_typed(root, "key", str, "root.key")
    if "subset" in m and m["subset"] is not None:
        changes["subset"] = _parse_subset(m["subset"], m)
    if "masking" in m and m["masking"] is not None:
        mk = _parse_section(m["masking"], m, "masking", {"rules": str})
        changes["rules_dir"] = _resolve(base_dir, mk.get("rules"))
    else:
        changes["rules_dir"] = base_dir / "masking_rules"
    if "snapshots" in m and m["snapshots"] is not None:
        sm = _parse_section(
            m["snapshots"],
            m,
            "snapshots",
            {"store": str, "endpoint_url": str, "region": str, "sse": str, "sse_kms_key_id": str},
        )
        store = sm.get("store") or DEFAULT_SNAPSHOT_STORE
        if not store.startswith("s3://"):
            store = str(_resolve(base_dir, store))
        if sm.get("sse") not in (None, "AES256", "aws:kms"):
            raise ConfigError(f"{sm.where('sse')}: key 'snapshots.sse': expected AES256 or aws:kms")
        changes["snapshots"] = SnapshotSettings(
            store=store,
            endpoint_url=sm.get("endpoint_url"),
            region=sm.get("region"),
            sse=sm.get("sse"),
            sse_kms_key_id=sm.get("sse_kms_key_id"),
        )
    else:
        changes["snapshots"] = SnapshotSettings(store=str(base_dir / DEFAULT_SNAPSHOT_STORE))
    if "tracker" in m and m["tracker"] is not None:
        tm = _parse_section(m["tracker"], m, "tracker", {"url": str, "policy": str})
        changes["tracker"] = TrackerSettings(
            url=tm.get("url") or _default_tracker_url(base_dir), policy=_resolve(base_dir, tm.get("policy"))
        )
    else:
        changes["tracker"] = TrackerSettings(url=_default_tracker_url(base_dir))
    if "attachments" in m and m["attachments"] is not None:
        am = _parse_section(
            m["attachments"],
            m,
            "attachments",
            {"max_image_mb": (int, float), "max_video_mb": (int, float), "max_other_mb": (int, float)},
        )
        d = AttachmentSettings()
        changes["attachments"] = AttachmentSettings(
            max_image_mb=float(am.get("max_image_mb", d.max_image_mb)),
            max_video_mb=float(am.get("max_video_mb", d.max_video_mb)),
            max_other_mb=float(am.get("max_other_mb", d.max_other_mb)),
        )
    if "har" in m and m["har"] is not None:
        hm = _parse_section(
            m["har"], m, "har", {"redact_headers": list, "redact_keys": list, "user_id_patterns": list}
        )
        changes["har"] = HarSettings(
            redact_headers=_str_list(hm, "redact_headers", "har.redact_headers"),
            redact_keys=_str_list(hm, "redact_keys", "har.redact_keys"),
            user_id_patterns=_str_list(hm, "user_id_patterns", "har.user_id_patterns"),
        )
    if "hotfix" in m and m["hotfix"] is not None:
        fm = _parse_section(m["hotfix"], m, "hotfix", {"main_branch": str, "branches": list})
        changes["hotfix"] = HotfixSettings(
            main_branch=fm.get("main_branch") or "main", branches=_str_list(fm, "branches", "hotfix.branches")
        )
    if "load" in m and m["load"] is not None:
        lm = _parse_section(m["load"], m, "load", {"triggers": str})
        if lm.get("triggers") not in (None, "auto", "keep"):
            raise ConfigError(f"{lm.where('triggers')}: key 'load.triggers': expected auto or keep")
        changes["load_triggers"] = lm.get("triggers") or "auto"
    return settings.with_overrides(**changes)


def _default_tracker_url(base_dir: Path) -> str:
    return f"sqlite:///{base_dir / '.repro' / 'repro.db'}"


def load_settings(
    config: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Load repro.yaml (explicit path, REPRO_CONFIG, or ./repro.yaml if present), then env, then overrides."""
    env = os.environ if env is None else env
    explicit = config if config is not None else env.get("REPRO_CONFIG") or None
    path: Path | None
    if explicit is not None:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigError(f"{path}: configuration file not found")
    else:
        candidate = Path.cwd() / DEFAULT_CONFIG
        path = candidate if candidate.is_file() else None
    if path is not None:
        data = load_yaml_file(path)
        settings = parse_settings(data, path, path.resolve().parent)
    else:
        settings = parse_settings(None, None, Path.cwd())
    env_changes: dict[str, Any] = {
        "source_url": env.get("REPRO_SOURCE_URL") or None,
        "target_url": env.get("REPRO_TARGET_URL") or None,
    }
    if env.get("REPRO_TRACKER_URL"):
        env_changes["tracker"] = replace(settings.tracker, url=env["REPRO_TRACKER_URL"])
    if env.get("REPRO_SNAPSHOT_STORE"):
        env_changes["snapshots"] = replace(settings.snapshots, store=env["REPRO_SNAPSHOT_STORE"])
    settings = settings.with_overrides(**env_changes)
    return settings.with_overrides(**overrides)


def acting_user(by: str | None = None) -> str:
    """The person acting: --by, else $REPRO_USER, else the operating-system user name."""
    if by and by.strip():
        return by.strip()
    env = os.environ.get("REPRO_USER", "").strip()
    if env:
        return env
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in some containers
        return "unknown"


def parse_root_option(value: str) -> tuple[str, str]:
    """`--root TABLE.COLUMN` -> (table, column)."""
    table, _, column = value.partition(".")
    if not table or not column or "." in column:
        raise ConfigError(f"--root: expected TABLE.COLUMN, got {value!r}")
    return table, column
