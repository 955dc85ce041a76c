"""Tracker operations: report, triage, lifecycle moves, reproduction, resolution; the API other parts call."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from repro.config import Settings
from repro.errors import TransitionError, UsageError
from repro.tracker.attachments import prepare_attachment, store_attachment
from repro.tracker.codes import format_tagline, parse_criticality, parse_scope, parse_team, parse_urgency
from repro.tracker.lifecycle import STATUSES, TERMINAL, allowed_from, check_transition
from repro.tracker.models import Incident, SnapshotLink, next_incident_number, tracker_session
from repro.tracker.policy import Policy, load_policy
from repro.tracker.records import add_event, load_incident, move, parse_incident_id, utc, who
from repro.tracker.views import AttachmentView, IncidentView, incident_view

USER_KINDS = ("customer", "admin")
REPRODUCIBLE_FROM = ("triaged", "reproducing", "reproduced")
# Statuses the generic `transition` may reach; the others need data and have their own operation.
PLAIN_TARGETS = ("reproducing", "reproduced", "fixing", "postmortem", "closed")


def policy_for(settings: Settings) -> Policy:
    return load_policy(settings.tracker.policy)


def report(
    settings: Settings,
    *,
    title: str,
    scope: str,
    criticality: str,
    team: str | None = None,
    description: str = "",
    user_ids: Sequence[str] = (),
    user_kind: str | None = None,
    attachments: Sequence[Path] = (),
    by: str | None = None,
    now: datetime | None = None,
) -> IncidentView:
    """File a new incident INC-<n>; attachments are checked (HAR files sanitized) before anything is saved."""
    title = title.strip()
    if not title:
        raise UsageError("an incident needs a title")
    scope, criticality = parse_scope(scope), parse_criticality(criticality)
    team = parse_team(team) if team else None
    if user_kind is not None and user_kind not in USER_KINDS:
        raise UsageError(f"unknown user kind {user_kind!r} (valid: {', '.join(USER_KINDS)})")
    urgency = policy_for(settings).urgency(scope, criticality, team)
    prepared = [prepare_attachment(settings, Path(p)) for p in attachments]
    actor, at = who(by), utc(now)
    with tracker_session(settings.tracker.url) as session:
        number = next_incident_number(session)
        incident = Incident(
            number=number,
            title=title,
            description=description,
            reporter=actor,
            affected_user_ids=[str(u) for u in user_ids],
            affected_kind=user_kind,
            scope=scope,
            criticality=criticality,
            team=team,
            urgency=urgency,
            status="reported",
            reported_at=at,
            updated_at=at,
        )
        session.add(incident)
        add_event(
            incident,
            "reported",
            f"reported {format_tagline(scope, criticality, team, title)} ({urgency})",
            by=actor,
            at=at,
            to_status="reported",
        )
        session.flush()
        for item in prepared:
            store_attachment(settings, session, incident, item, by=actor, at=at)
        session.commit()
        return incident_view(incident)


def triage(
    settings: Settings,
    incident_id: str,
    *,
    team: str,
    scope: str | None = None,
    criticality: str | None = None,
    urgency: str | None = None,
    by: str | None = None,
    now: datetime | None = None,
) -> IncidentView:
    """Add the team (and optionally correct the classification); urgency comes from the policy unless given.

    A reported incident moves to triaged; a later triage only reclassifies, with a timeline event.
    """
    actor, at = who(by), utc(now)
    new_team = parse_team(team)
    with tracker_session(settings.tracker.url) as session:
        incident = load_incident(session, incident_id, lock=True)
        if incident.status in TERMINAL:
            check_transition(incident.id, incident.status, "triaged")
        new_scope = parse_scope(scope) if scope else incident.scope
        new_crit = parse_criticality(criticality) if criticality else incident.criticality
        new_urgency = (
            parse_urgency(urgency) if urgency else policy_for(settings).urgency(new_scope, new_crit, new_team)
        )
        changes: dict[str, list[str | None]] = {}
        for field, value in (
            ("scope", new_scope),
            ("criticality", new_crit),
            ("team", new_team),
            ("urgency", new_urgency),
        ):
            if getattr(incident, field) != value:
                changes[field] = [getattr(incident, field), value]
                setattr(incident, field, value)
        tagline = format_tagline(new_scope, new_crit, new_team, incident.title)
        if incident.status == "reported":
            move(incident, "triaged", by=actor, at=at)
        add_event(
            incident, "classified", f"classified {tagline} ({new_urgency})", by=actor, at=at, changes=changes
        )
        session.commit()
        return incident_view(incident)


def transition(
    settings: Settings,
    incident_id: str,
    status: str,
    *,
    note: str | None = None,
    by: str | None = None,
    now: datetime | None = None,
) -> IncidentView:
    """Move to a status that needs no extra data (reproducing, reproduced, fixing, postmortem, closed)."""
    status = status.strip().lower()
    if status not in PLAIN_TARGETS:
        special = {
            "triaged": "triage",
            "resolved": "resolve",
            "declined": "decline",
            "duplicate": "duplicate",
        }
        if status in special:
            raise UsageError(f"use `repro incident {special[status]}` to move an incident to {status}")
        raise UsageError(f"unknown status {status!r} (valid here: {', '.join(PLAIN_TARGETS)})")
    with tracker_session(settings.tracker.url) as session:
        incident = load_incident(session, incident_id, lock=True)
        at = utc(now)
        move(incident, status, by=who(by), at=at, note=note)
        if status == "reproduced":
            incident.reproduce_seconds = (at - incident.reported_at).total_seconds()
        session.commit()
        return incident_view(incident)


def decline(
    settings: Settings, incident_id: str, *, reason: str, by: str | None = None, now: datetime | None = None
) -> IncidentView:
    with tracker_session(settings.tracker.url) as session:
        incident = load_incident(session, incident_id, lock=True)
        move(incident, "declined", by=who(by), at=utc(now), note=reason or None)
        session.commit()
        return incident_view(incident)


def mark_duplicate(
    settings: Settings, incident_id: str, *, of: str, by: str | None = None, now: datetime | None = None
) -> IncidentView:
    with tracker_session(settings.tracker.url) as session:
        incident = load_incident(session, incident_id, lock=True)
        original = load_incident(session, of)
        if original.number == incident.number:
            raise UsageError(f"{incident.id} cannot be a duplicate of itself")
        move(incident, "duplicate", by=who(by), at=utc(now), note=f"duplicate of {original.id}")
        incident.duplicate_of = original.number
        session.commit()
        return incident_view(incident)


def resolve(
    settings: Settings,
    incident_id: str,
    *,
    hotfix: str | None = None,
    planned: str | None = None,
    by: str | None = None,
    now: datetime | None = None,
) -> IncidentView:
    """Resolved by a hotfix branch or a planned ticket; from triaged/reproduced it passes through fixing."""
    if hotfix and planned:
        raise UsageError("give either a hotfix branch or a planned ticket key, not both")
    actor, at = who(by), utc(now)
    with tracker_session(settings.tracker.url) as session:
        incident = load_incident(session, incident_id, lock=True)
        if not (hotfix or planned or incident.resolution_ref):
            raise UsageError(f"{incident.id} has no resolution yet: pass --hotfix BRANCH or --planned KEY")
        if incident.status != "fixing":
            check_transition(incident.id, incident.status, "fixing")
        _set_resolution(
            incident,
            "hotfix" if hotfix else "planned" if planned else None,
            hotfix or planned,
            by=actor,
            at=at,
        )
        if incident.status != "fixing":
            move(incident, "fixing", by=actor, at=at)
        move(
            incident,
            "resolved",
            by=actor,
            at=at,
            note=f"{incident.resolution_kind} {incident.resolution_ref}",
        )
        session.commit()
        return incident_view(incident)


def _set_resolution(incident: Incident, kind: str | None, ref: str | None, *, by: str, at: datetime) -> None:
    if kind is None or ref is None or (kind, ref) == (incident.resolution_kind, incident.resolution_ref):
        return
    changes = {
        "resolution": [
            f"{incident.resolution_kind} {incident.resolution_ref}" if incident.resolution_ref else None,
            f"{kind} {ref}",
        ]
    }
    incident.resolution_kind, incident.resolution_ref = kind, ref
    add_event(incident, "resolution", f"resolution: {kind} {ref}", by=by, at=at, changes=changes)


def close(
    settings: Settings, incident_id: str, *, by: str | None = None, now: datetime | None = None
) -> IncidentView:
    return transition(settings, incident_id, "closed", by=by, now=now)


def get_incident(settings: Settings, incident_id: str) -> IncidentView:
    with tracker_session(settings.tracker.url) as session:
        return incident_view(load_incident(session, incident_id))


def list_incidents(
    settings: Settings,
    *,
    status: str | None = None,
    urgency: str | None = None,
    scope: str | None = None,
    team: str | None = None,
) -> list[IncidentView]:
    """Incidents matching every given filter, newest first."""
    query = sa.select(Incident).order_by(Incident.number.desc())
    if status:
        wanted = status.strip().lower()
        if wanted not in STATUSES:
            raise UsageError(f"unknown status {status!r} (valid: {', '.join(STATUSES)})")
        query = query.where(Incident.status == wanted)
    if urgency:
        query = query.where(Incident.urgency == parse_urgency(urgency))
    if scope:
        query = query.where(Incident.scope == parse_scope(scope))
    if team:
        query = query.where(Incident.team == parse_team(team))
    with tracker_session(settings.tracker.url) as session:
        return [incident_view(i, full=False) for i in session.execute(query).scalars()]


# --- integration points: copy-user, snapshots and hotfix call these --------------------------------------


def check_can_reproduce(settings: Settings, incident_id: str) -> None:
    """NotFoundError for an unknown id; TransitionError unless triaged, reproducing or reproduced."""
    with tracker_session(settings.tracker.url) as session:
        incident = load_incident(session, incident_id)
        _check_reproducible(incident)


def _check_reproducible(incident: Incident) -> None:
    if incident.status not in REPRODUCIBLE_FROM:
        allowed = ", ".join(allowed_from(incident.status)) or "none, it is final"
        raise TransitionError(
            f"{incident.id} is {incident.status}: cannot record a reproduction (needs triaged, reproducing or"
            f" reproduced; allowed next: {allowed})"
        )


def record_reproduction(
    settings: Settings,
    incident_id: str,
    *,
    snapshot_id: str | None,
    root: str,
    rows: int,
    elapsed_s: float,
    by: str | None = None,
    now: datetime | None = None,
) -> None:
    """Move to reproduced (through reproducing from triaged), link the snapshot, record the time to reproduce.

    A second reproduction keeps the first reproduced_at (the key figure) and adds a timeline event.
    """
    actor, at = who(by), utc(now)
    with tracker_session(settings.tracker.url) as session:
        incident = load_incident(session, incident_id, lock=True)
        _check_reproducible(incident)
        if incident.status == "triaged":
            move(incident, "reproducing", by=actor, at=at)
        detail = f"root {root}, {rows} rows in {elapsed_s:.1f}s" + (
            f", snapshot {snapshot_id}" if snapshot_id else ""
        )
        if incident.status == "reproducing":
            move(incident, "reproduced", by=actor, at=at, note=detail)
            incident.reproduce_seconds = (at - incident.reported_at).total_seconds()
        else:
            add_event(incident, "reproduced-again", f"reproduced again: {detail}", by=actor, at=at)
        if snapshot_id:
            _link(incident, snapshot_id, by=actor, at=at)
        session.commit()


def _link(incident: Incident, snapshot_id: str, *, by: str, at: datetime) -> bool:
    if any(link.snapshot_id == snapshot_id for link in incident.snapshots):
        return False
    incident.snapshots.append(SnapshotLink(snapshot_id=snapshot_id, linked_at=at))
    add_event(
        incident,
        "snapshot",
        f"linked snapshot {snapshot_id}",
        by=by,
        at=at,
        changes={"snapshots": [None, snapshot_id]},
    )
    return True


def link_snapshot(
    settings: Settings,
    incident_id: str,
    snapshot_id: str,
    *,
    by: str | None = None,
    now: datetime | None = None,
) -> None:
    """Link a snapshot to an incident; linking it again changes nothing."""
    with tracker_session(settings.tracker.url) as session:
        incident = load_incident(session, incident_id, lock=True)
        if _link(incident, snapshot_id, by=who(by), at=utc(now)):
            session.commit()


def incident_snapshots(settings: Settings, incident_id: str) -> list[str]:
    with tracker_session(settings.tracker.url) as session:
        return [link.snapshot_id for link in load_incident(session, incident_id).snapshots]


def record_hotfix_branch(
    settings: Settings, incident_id: str, branch: str, by: str | None = None, *, now: datetime | None = None
) -> None:
    """Store the hotfix branch as the planned resolution; triaged/reproduced move on to fixing."""
    if not branch.strip():
        raise UsageError("empty hotfix branch name")
    actor, at = who(by), utc(now)
    with tracker_session(settings.tracker.url) as session:
        incident = load_incident(session, incident_id, lock=True)
        if incident.status not in ("triaged", "reproduced", "fixing"):
            check_transition(incident.id, incident.status, "fixing")
        _set_resolution(incident, "hotfix", branch.strip(), by=actor, at=at)
        if incident.status != "fixing":
            move(incident, "fixing", by=actor, at=at, note=f"hotfix branch {branch.strip()}")
        session.commit()


def add_attachment(
    settings: Settings, incident_id: str, path: Path, by: str | None = None, *, now: datetime | None = None
) -> AttachmentView:
    """Attach a file: HAR files are sanitized first (never stored raw); size limits per kind."""
    parse_incident_id(incident_id)
    with tracker_session(settings.tracker.url) as session:
        incident = load_incident(session, incident_id, lock=True)
        prepared = prepare_attachment(settings, Path(path))
        view = store_attachment(settings, session, incident, prepared, by=who(by), at=utc(now))
        session.commit()
        return view
