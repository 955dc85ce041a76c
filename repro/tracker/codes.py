"""Classification codes (scope, criticality, team) and the tagline `ADMINS-FBLOCK-FE: title`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from repro.errors import UsageError

SCOPES: tuple[str, ...] = ("ALL", "ALL-USERS", "ALL-ADMINS", "USERS", "ADMINS", "S-USER", "S-ADMIN")
CRITICALITIES: tuple[str, ...] = ("ALLBLOCK", "FBLOCK", "FBEHAV")
TEAMS: tuple[str, ...] = ("FEBE", "FE", "BE", "DEVOPS")
URGENCIES: tuple[str, ...] = ("P1", "P2", "P3", "P4")

SCOPE_TEXT = {
    "ALL": "all customers and admins",
    "ALL-USERS": "all customers",
    "ALL-ADMINS": "all admins",
    "USERS": "some customers",
    "ADMINS": "some admins",
    "S-USER": "a single customer",
    "S-ADMIN": "a single admin",
}
CRITICALITY_TEXT = {
    "ALLBLOCK": "blocked from using the application",
    "FBLOCK": "a feature does not work; the application is still usable",
    "FBEHAV": "a feature misbehaves but is usable",
}

_SEPARATORS = re.compile(r"[\s\-_]+")


def _tokens(text: str) -> list[str]:
    return [t for t in _SEPARATORS.split(text.strip().upper()) if t]


def _normalize(kind: str, value: str, valid: tuple[str, ...]) -> str:
    code = "-".join(_tokens(value))
    if code not in valid:
        raise UsageError(f"unknown {kind} {value.strip()!r} (valid: {', '.join(valid)})")
    return code


def parse_scope(value: str) -> str:
    """`s user`, `S-User` or `s_user` -> `S-USER`; anything else is refused with the valid codes."""
    return _normalize("scope", value, SCOPES)


def parse_criticality(value: str) -> str:
    return _normalize("criticality", value, CRITICALITIES)


def parse_team(value: str) -> str:
    return _normalize("team", value, TEAMS)


def parse_urgency(value: str) -> str:
    return _normalize("urgency", value, URGENCIES)


@dataclass(frozen=True)
class Tagline:
    scope: str
    criticality: str
    team: str | None
    title: str

    def __str__(self) -> str:
        return format_tagline(self.scope, self.criticality, self.team, self.title)


def format_tagline(scope: str, criticality: str, team: str | None, title: str) -> str:
    """`ADMINS-FBLOCK: title`, or `ADMINS-FBLOCK-FE: title` once a team is assigned."""
    head = f"{scope}-{criticality}" + (f"-{team}" if team else "")
    return f"{head}: {title}"


def parse_tagline(text: str) -> Tagline:
    """Read `SCOPE-CRITICALITY[-TEAM]: title`, tolerant of case and spacing.

    Scopes contain dashes themselves (ALL-USERS, S-ADMIN), so the head is read by matching known codes, the
    longest first, rather than by splitting on every dash.
    """
    head, colon, title = text.partition(":")
    title = title.strip()
    if not colon or not title:
        raise UsageError(f"tagline must look like 'SCOPE-CRITICALITY[-TEAM]: title', got {text.strip()!r}")
    tokens = _tokens(head)
    if not tokens:
        raise UsageError(f"tagline has no codes before ':' (valid scopes: {', '.join(SCOPES)})")
    if len(tokens) >= 2 and f"{tokens[0]}-{tokens[1]}" in SCOPES:
        scope, rest = f"{tokens[0]}-{tokens[1]}", tokens[2:]
    elif tokens[0] in SCOPES:
        scope, rest = tokens[0], tokens[1:]
    else:
        raise UsageError(f"unknown scope {tokens[0]!r} in tagline (valid: {', '.join(SCOPES)})")
    if not rest:
        raise UsageError(f"tagline lacks a criticality after {scope} (valid: {', '.join(CRITICALITIES)})")
    if rest[0] not in CRITICALITIES:
        raise UsageError(f"unknown criticality {rest[0]!r} in tagline (valid: {', '.join(CRITICALITIES)})")
    criticality, rest = rest[0], rest[1:]
    team: str | None = None
    if rest:
        if rest[0] not in TEAMS:
            raise UsageError(f"unknown team {rest[0]!r} in tagline (valid: {', '.join(TEAMS)})")
        team, rest = rest[0], rest[1:]
    if rest:
        raise UsageError(f"unexpected {'-'.join(rest)!r} after the codes in tagline")
    return Tagline(scope, criticality, team, title)
