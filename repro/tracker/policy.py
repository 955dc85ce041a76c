"""The incident policy (incident_policy.yaml): urgency matrix, team adjustments, escalation per urgency."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from repro.errors import ConfigError
from repro.tracker.codes import CRITICALITIES, SCOPES, TEAMS, URGENCIES
from repro.yamlconf import LineDict, check_keys, get_typed, load_yaml_file, load_yaml_text, require_mapping

RESOLUTION_PATHS = ("hotfix", "planned")
_DURATION = re.compile(r"^(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?$")


@dataclass(frozen=True)
class UrgencyLevel:
    """What an urgency level means: acknowledgement deadline, default resolution path, who to notify."""

    name: str
    acknowledge_within: timedelta
    resolution: str
    notify: dict[str, tuple[str, ...]]  # `all` and team codes

    def recipients(self, team: str | None) -> list[str]:
        """`all` first, then the team's own list, without repeats."""
        names = list(self.notify.get("all", ()))
        if team:
            names += [n for n in self.notify.get(team, ()) if n not in names]
        return names


@dataclass(frozen=True)
class Policy:
    source: str
    matrix: dict[tuple[str, str], str]
    team_adjustments: dict[str, int]
    levels: dict[str, UrgencyLevel]

    def urgency(self, scope: str, criticality: str, team: str | None = None) -> str:
        """The matrix entry, shifted by the team's adjustment and kept within P1..P4."""
        base = URGENCIES.index(self.matrix[(scope, criticality)])
        shift = self.team_adjustments.get(team, 0) if team else 0
        return URGENCIES[min(max(base + shift, 0), len(URGENCIES) - 1)]

    def level(self, urgency: str) -> UrgencyLevel:
        return self.levels[urgency]


def shipped_policy_text() -> str:
    return resources.files("repro").joinpath("data/incident_policy.yaml").read_text(encoding="utf-8")


def load_policy(path: Path | None = None) -> Policy:
    """Load and validate a policy file; None loads the shipped incident_policy.yaml."""
    if path is None:
        return _shipped_policy()
    try:
        stamp = Path(path).stat().st_mtime_ns
    except OSError:
        stamp = -1  # load_yaml_file reports the missing file
    return _policy_file(Path(path), stamp)


@functools.cache
def _shipped_policy() -> Policy:
    return parse_policy(load_yaml_text(shipped_policy_text(), "incident_policy.yaml (shipped)"))


@functools.lru_cache(maxsize=16)
def _policy_file(path: Path, stamp: int) -> Policy:
    """Parsed once per file version (the modification time is part of the cache key)."""
    return parse_policy(load_yaml_file(path))


def parse_duration(value: Any, mapping: LineDict, key: str, what: str) -> timedelta:
    match = _DURATION.match(value.strip()) if isinstance(value, str) else None
    if match is None or not any(match.groupdict().values()):
        raise ConfigError(
            f"{mapping.where(key)}: key '{what}': expected a duration like 15m, 4h, 2d or 1d12h,"
            f" got {value!r}"
        )
    parts = {k: int(v or 0) for k, v in match.groupdict().items()}
    delta = timedelta(days=parts["d"], hours=parts["h"], minutes=parts["m"])
    if delta <= timedelta(0):
        raise ConfigError(f"{mapping.where(key)}: key '{what}': must be longer than zero")
    return delta


def _require(mapping: LineDict, key: str, what: str) -> Any:
    if key not in mapping or mapping[key] is None:
        raise ConfigError(f"{mapping.where()}: key '{what}' is required")
    return mapping[key]


def _parse_matrix(raw: Any, top: LineDict) -> dict[tuple[str, str], str]:
    m = require_mapping(raw, "urgency_matrix", top, "urgency_matrix")
    check_keys(m, SCOPES, "urgency_matrix")
    matrix: dict[tuple[str, str], str] = {}
    for scope in SCOPES:
        row = require_mapping(
            _require(m, scope, f"urgency_matrix.{scope}"), f"urgency_matrix.{scope}", m, scope
        )
        check_keys(row, CRITICALITIES, f"urgency_matrix.{scope}")
        for crit in CRITICALITIES:
            what = f"urgency_matrix.{scope}.{crit}"
            value = _require(row, crit, what)
            if value not in URGENCIES:
                raise ConfigError(
                    f"{row.where(crit)}: key '{what}': expected one of {', '.join(URGENCIES)}, got {value!r}"
                )
            matrix[(scope, crit)] = value
    return matrix


def _parse_adjustments(raw: Any, top: LineDict) -> dict[str, int]:
    if raw is None:
        return {}
    m = require_mapping(raw, "team_adjustments", top, "team_adjustments")
    check_keys(m, TEAMS, "team_adjustments")
    result: dict[str, int] = {}
    for team in m:
        value = get_typed(m, team, int, f"team_adjustments.{team}")
        if value is not None and abs(value) >= len(URGENCIES):
            raise ConfigError(f"{m.where(team)}: key 'team_adjustments.{team}': expected -3..3, got {value}")
        result[team] = value or 0
    return result


def _parse_level(name: str, raw: Any, parent: LineDict) -> UrgencyLevel:
    m = require_mapping(raw, f"levels.{name}", parent, name)
    check_keys(m, ["acknowledge_within", "resolution", "notify"], f"levels.{name}")
    ack = parse_duration(
        _require(m, "acknowledge_within", f"levels.{name}.acknowledge_within"),
        m,
        "acknowledge_within",
        f"levels.{name}.acknowledge_within",
    )
    resolution = _require(m, "resolution", f"levels.{name}.resolution")
    if resolution not in RESOLUTION_PATHS:
        raise ConfigError(
            f"{m.where('resolution')}: key 'levels.{name}.resolution': expected hotfix or planned,"
            f" got {resolution!r}"
        )
    notify: dict[str, tuple[str, ...]] = {}
    if m.get("notify") is not None:
        nm = require_mapping(m["notify"], f"levels.{name}.notify", m, "notify")
        check_keys(nm, ("all", *TEAMS), f"levels.{name}.notify")
        for key in nm:
            what = f"levels.{name}.notify.{key}"
            names = get_typed(nm, key, list, what) or []
            if not all(isinstance(n, str) and n.strip() for n in names):
                raise ConfigError(f"{nm.where(key)}: key '{what}': expected a list of names")
            notify[key] = tuple(n.strip() for n in names)
    return UrgencyLevel(name=name, acknowledge_within=ack, resolution=resolution, notify=notify)


def parse_policy(data: Any) -> Policy:
    """Validate a loaded policy mapping; every error names file, line and key."""
    if not isinstance(data, dict):
        raise ConfigError("incident policy: expected a mapping at the top level")
    top = require_mapping(data, "<top>")
    check_keys(top, ["urgency_matrix", "team_adjustments", "levels"], "incident policy")
    matrix = _parse_matrix(_require(top, "urgency_matrix", "urgency_matrix"), top)
    adjustments = _parse_adjustments(top.get("team_adjustments"), top)
    lm = require_mapping(_require(top, "levels", "levels"), "levels", top, "levels")
    check_keys(lm, URGENCIES, "levels")
    levels = {u: _parse_level(u, _require(lm, u, f"levels.{u}"), lm) for u in URGENCIES}
    return Policy(source=top.source, matrix=matrix, team_adjustments=adjustments, levels=levels)
