"""Plain snapshots of tracker records, detached from the database, for callers and for --json."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from repro.tracker.codes import format_tagline
from repro.tracker.lifecycle import STATUSES
from repro.tracker.models import ActionItem, Attachment, Event, Incident

MILESTONES: tuple[str, ...] = STATUSES  # every status has its `<status>_at` timestamp


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


@dataclass(frozen=True)
class AttachmentView:
    incident_id: str
    key: str
    sha256: str
    size: int
    kind: str  # har, image, video, other
    filename: str
    added_at: datetime
    added_by: str

    def to_dict(self) -> dict[str, Any]:
        return dict(_jsonable(asdict(self)))


@dataclass(frozen=True)
class EventView:
    at: datetime
    by: str
    kind: str
    message: str
    from_status: str | None = None
    to_status: str | None = None
    changes: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(_jsonable(asdict(self)))


@dataclass(frozen=True)
class ActionView:
    incident_id: str
    seq: int
    kind: str  # prevent, reduce, contain
    text: str
    owner: str | None
    due: date | None
    done: bool
    done_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return dict(_jsonable(asdict(self)))


@dataclass(frozen=True)
class IncidentView:
    id: str
    number: int
    title: str
    description: str
    reporter: str
    affected_user_ids: list[str]
    affected_kind: str | None
    scope: str
    criticality: str
    team: str | None
    urgency: str
    status: str
    resolution_kind: str | None
    resolution_ref: str | None
    duplicate_of: str | None
    milestones: dict[str, datetime | None]
    reproduce_seconds: float | None
    postmortem_notes: dict[str, str | None]
    attachments: list[AttachmentView] = field(default_factory=list)
    snapshots: list[str] = field(default_factory=list)
    events: list[EventView] = field(default_factory=list)
    actions: list[ActionView] = field(default_factory=list)

    @property
    def hotfix_branch(self) -> str | None:
        """The hotfix branch recorded as the resolution, if the resolution is a hotfix."""
        return self.resolution_ref if self.resolution_kind == "hotfix" else None

    @property
    def tagline(self) -> str:
        return format_tagline(self.scope, self.criticality, self.team, self.title)

    def seconds_to(self, milestone: str) -> float | None:
        """Seconds from the report to a milestone, or None if it was not reached."""
        reached = self.milestones.get(milestone)
        reported = self.milestones.get("reported")
        if reached is None or reported is None:
            return None
        return (reached - reported).total_seconds()

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = dict(_jsonable(asdict(self)))
        data["tagline"] = self.tagline
        data["hotfix_branch"] = self.hotfix_branch
        data["time_to_triage_s"] = self.seconds_to("triaged")
        data["time_to_reproduce_s"] = self.seconds_to("reproduced")
        data["time_to_resolve_s"] = self.seconds_to("resolved")
        return data


def attachment_view(incident: Incident, a: Attachment) -> AttachmentView:
    return AttachmentView(incident.id, a.key, a.sha256, a.size, a.kind, a.filename, a.added_at, a.added_by)


def event_view(e: Event) -> EventView:
    return EventView(e.at, e.by, e.kind, e.message, e.from_status, e.to_status, e.changes)


def action_view(incident: Incident, a: ActionItem) -> ActionView:
    return ActionView(incident.id, a.seq, a.kind, a.text, a.owner, a.due, a.done, a.done_at)


def incident_view(incident: Incident, *, full: bool = True) -> IncidentView:
    """A detached copy; `full=False` leaves out attachments, events, snapshots and actions (for lists)."""
    return IncidentView(
        id=incident.id,
        number=incident.number,
        title=incident.title,
        description=incident.description or "",
        reporter=incident.reporter,
        affected_user_ids=list(incident.affected_user_ids or []),
        affected_kind=incident.affected_kind,
        scope=incident.scope,
        criticality=incident.criticality,
        team=incident.team,
        urgency=incident.urgency,
        status=incident.status,
        resolution_kind=incident.resolution_kind,
        resolution_ref=incident.resolution_ref,
        duplicate_of=f"INC-{incident.duplicate_of}" if incident.duplicate_of else None,
        milestones={m: getattr(incident, f"{m}_at") for m in MILESTONES},
        reproduce_seconds=incident.reproduce_seconds,
        postmortem_notes={
            "summary": incident.pm_summary,
            "impact": incident.pm_impact,
            "root_cause": incident.pm_root_cause,
            "trigger": incident.pm_trigger,
            "detection": incident.pm_detection,
            "lessons": incident.pm_lessons,
        },
        attachments=[attachment_view(incident, a) for a in incident.attachments] if full else [],
        snapshots=[s.snapshot_id for s in incident.snapshots] if full else [],
        events=[event_view(e) for e in incident.events] if full else [],
        actions=[action_view(incident, a) for a in incident.actions] if full else [],
    )
