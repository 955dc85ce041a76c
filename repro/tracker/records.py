"""Shared steps of every tracker operation: ids, who and when, loading, timeline events, status moves."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from repro.config import acting_user
from repro.errors import NotFoundError, UsageError
from repro.tracker.lifecycle import check_transition
from repro.tracker.models import Event, Incident

_ID = re.compile(r"^\s*(?:INC\s*-?\s*)?(\d+)\s*$", re.IGNORECASE)


def parse_incident_id(text: str) -> int:
    """`INC-7`, `inc-7` or `7` -> 7."""
    match = _ID.match(str(text))
    if match is None or int(match.group(1)) <= 0:
        raise UsageError(f"invalid incident id {text!r} (expected INC-<number>, e.g. INC-7)")
    return int(match.group(1))


def format_incident_id(number: int) -> str:
    return f"INC-{number}"


def who(by: str | None = None) -> str:
    """The person acting: --by, else $REPRO_USER, else the operating-system user name."""
    return acting_user(by)


def utc(now: datetime | None = None) -> datetime:
    """`now` as an aware UTC time (naive values are taken as UTC); the current time when None."""
    if now is None:
        return datetime.now(UTC)
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)


def load_incident(session: Session, incident_id: str, *, lock: bool = False) -> Incident:
    """The incident with its children loaded; `lock` takes a row lock where the backend has them."""
    number = parse_incident_id(incident_id)
    query = (
        sa.select(Incident)
        .where(Incident.number == number)
        .options(
            selectinload(Incident.events),
            selectinload(Incident.attachments),
            selectinload(Incident.snapshots),
            selectinload(Incident.actions),
        )
    )
    if lock and session.get_bind().dialect.name != "sqlite":
        query = query.with_for_update(of=Incident)
    incident = session.execute(query).scalar_one_or_none()
    if incident is None:
        raise NotFoundError(f"no incident {format_incident_id(number)}")
    return incident


def add_event(
    incident: Incident,
    kind: str,
    message: str,
    *,
    by: str,
    at: datetime,
    from_status: str | None = None,
    to_status: str | None = None,
    changes: dict[str, Any] | None = None,
) -> Event:
    event = Event(
        kind=kind,
        message=message,
        by=by,
        at=at,
        from_status=from_status,
        to_status=to_status,
        changes=changes,
    )
    incident.events.append(event)
    incident.updated_at = at
    return event


def move(incident: Incident, target: str, *, by: str, at: datetime, note: str | None = None) -> None:
    """Validate and apply one status transition: status, milestone timestamp and a timeline event."""
    current = incident.status
    check_transition(incident.id, current, target)
    incident.status = target
    setattr(incident, f"{target}_at", at)
    message = f"status {current} -> {target}" + (f": {note}" if note else "")
    add_event(incident, "status", message, by=by, at=at, from_status=current, to_status=target)
